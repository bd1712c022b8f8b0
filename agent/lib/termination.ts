// SIGINT/SIGTERM as a promise, for commands that run until stopped and must clean up first.
export interface Termination {
  /** Resolves on the first SIGINT or SIGTERM. */
  signalled: Promise<void>;
  /** Stops listening (call it in the command's finally). */
  dispose(): void;
}

export function onTermination(): Termination {
  let stop = () => {};
  const signalled = new Promise<void>((resolve) => (stop = resolve));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signalled,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}
