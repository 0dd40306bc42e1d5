export type Verdict = 'continue' | 'rerun' | 'too-old';
export function projectNodePath(platform?: string, arch?: string): string;
export function meetsMinimum(version: string): boolean;
export function decide(facts: {
  pinned: string;
  pinnedExists: boolean;
  execPath: string;
  version: string;
}): Verdict;
export function onProjectNode(): boolean;
