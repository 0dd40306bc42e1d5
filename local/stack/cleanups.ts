/** What a starting or running stack has to undo, undone newest first (a failed start undoes what it did so far). */
export type Cleanup = () => Promise<void> | void;

export class Cleanups {
  readonly #steps: Cleanup[] = [];

  push(step: Cleanup): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.#steps.reverse()) await step();
    this.#steps.length = 0;
  }
}
