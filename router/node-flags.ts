// The V8 flags the router runs with (`npm start`, the router image, and the benchmarks that compare it with a bare
// proxy). router/README.md ("Tuning") gives the measurements behind each.
//
// - `--max-semi-space-size=16`: a 16 MiB young generation whatever the container's memory limit.
// - `--heap-growing-percent=30`: after each full collection the old generation may grow by 30 % before the next one.
//   V8's own choice grows it up to several times the live size; at 256 concurrent requests the in-flight ones are
//   promoted and die soon after, so the old generation filled with that garbage (peak RSS 230–240 MB) before it was
//   collected; with 30 % the peak is ~150 MB at no measurable CPU cost.
export const ROUTER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16', '--heap-growing-percent=30'];
