// The environment for programs that are not ours (curl, chromium, prometheus,
// bash running them): the test process's, without the sanitizer run's ASan
// preload (test/sanitize/run.sh), which is for node and our addon only: in
// curl or chromium it slows them or hangs them.
export function externalEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { LD_PRELOAD: _preload, ASAN_OPTIONS: _asan, UBSAN_OPTIONS: _ubsan, ...rest } = process.env;
  return { ...rest, ...extra };
}
