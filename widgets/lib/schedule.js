// Redraw scheduling: at most one call per interval, and always a last call after the final request.

/**
 * `throttle(fn, ms)` returns `request()`: the first request runs `fn` at once, later ones within `ms`
 * are coalesced into one trailing run. `now` and `timer` are injectable for tests.
 */
export function throttle(fn, ms = 100, now = () => Date.now(), timer = (f, t) => setTimeout(f, t)) {
  let last = -Infinity;
  let pending = false;
  const run = () => {
    pending = false;
    last = now();
    fn();
  };
  return function request() {
    if (pending) return;
    const wait = last + ms - now();
    if (wait <= 0) run();
    else {
      pending = true;
      timer(run, wait);
    }
  };
}
