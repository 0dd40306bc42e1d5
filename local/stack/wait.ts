/**
 * Resolves with what `find` returns once it returns something, checking now and whenever `subscribe`'s callback fires;
 * rejects after `timeoutMs`.
 */
export function waitFor<T>(
  find: () => T | undefined,
  subscribe: (check: () => void) => () => void,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise<T>((resolvePromise, reject) => {
    let unsubscribe: () => void = () => undefined;
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const check = () => {
      const found = find();
      if (found === undefined) return;
      clearTimeout(timer);
      unsubscribe();
      resolvePromise(found);
    };
    unsubscribe = subscribe(check);
    check();
  });
}
