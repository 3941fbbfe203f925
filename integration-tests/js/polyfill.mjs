// Node 20 lacks Promise.withResolvers, which @waku/sdk 0.0.36 (built for Node 22) calls.
// Loaded with `node --import` before anything else.
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
