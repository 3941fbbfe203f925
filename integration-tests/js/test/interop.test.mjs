// js-waku (@waku/sdk 0.0.36, the real client from npm) against a running rwaku service node:
// over TCP and over WebSocket, on a static shard and on an autosharded content topic, it
// waits for identify, lightpushes, receives through a filter subscription, reads the
// messages back from the store across several pages, and unsubscribes. Every step has a
// timeout. The rwaku side is started by integration-tests/tests/it/js_waku.rs, which passes
// the node's addresses in RWAKU_TCP and RWAKU_WS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tcp } from "@libp2p/tcp";
import { webSockets } from "@libp2p/websockets";
import { yamux } from "@chainsafe/libp2p-yamux";
import { mplex } from "@libp2p/mplex";
import { multiaddr } from "@multiformats/multiaddr";
import { createLightNode, Protocols, utf8ToBytes, bytesToUtf8 } from "@waku/sdk";

const CLUSTER = 1;
const MESSAGES = 7;
const PAGE = 2;

function withTimeout(promise, ms, step) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${step}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run this through the Rust test js_waku`);
  return value;
}

const cases = [
  { transport: "tcp", sharding: "static", address: () => required("RWAKU_TCP") },
  { transport: "ws", sharding: "static", address: () => required("RWAKU_WS") },
  { transport: "tcp", sharding: "auto", address: () => required("RWAKU_TCP") },
  { transport: "ws", sharding: "auto", address: () => required("RWAKU_WS") },
];

for (const c of cases) {
  test(`js-waku ${c.transport} ${c.sharding}: lightpush, filter, store pages, unsubscribe`, async () => {
    const ma = multiaddr(c.address());
    const networkConfig =
      c.sharding === "static" ? { clusterId: CLUSTER } : { clusterId: CLUSTER, numShardsInCluster: 8 };
    const node = await createLightNode({
      networkConfig,
      lightPush: { autoRetry: false },
      connectionManager: { enableAutoRecovery: false },
      libp2p: {
        transports: [tcp(), webSockets()],
        streamMuxers: [yamux(), mplex()],
        hideWebSocketInfo: true,
      },
    });
    try {
      // 1. identify: subscribe before dialing (libp2p.dial resolves before identify runs).
      const identified = new Promise((resolve) =>
        node.libp2p.addEventListener("peer:identify", (e) => {
          if (e.detail.peerId.toString() === ma.getPeerId()) resolve(e.detail);
        }),
      );
      await withTimeout(node.libp2p.dial(ma), 10_000, "dial");
      const id = await withTimeout(identified, 10_000, "identify");
      for (const codec of [
        "/vac/waku/lightpush/3.0.0",
        "/vac/waku/filter-subscribe/2.0.0-beta1",
        "/vac/waku/store-query/3.0.0",
      ]) {
        assert.ok(id.protocols.includes(codec), `identify lists ${codec}: ${id.protocols.join(" ")}`);
      }
      await withTimeout(
        node.waitForPeers([Protocols.LightPush, Protocols.Filter, Protocols.Store], 10_000),
        12_000,
        "waitForPeers",
      );

      const run = `${c.transport}-${c.sharding}-${Date.now()}`;
      const contentTopic = `/rwaku-interop/1/${run}/proto`;
      const routing = c.sharding === "static" ? { contentTopic, shardId: 0 } : { contentTopic };
      const encoder = node.createEncoder(routing);
      const decoder = node.createDecoder(routing);
      if (c.sharding === "auto") {
        // The SDK derived the shard from the content topic, as rwaku's autosharding does.
        assert.match(encoder.pubsubTopic, /^\/waku\/2\/rs\/1\/[0-7]$/);
      } else {
        assert.equal(encoder.pubsubTopic, "/waku/2/rs/1/0");
      }

      // 2. filter subscription, so every pushed message is seen.
      const received = new Map();
      let allReceived;
      const everyMessage = new Promise((resolve) => (allReceived = resolve));
      const subscribed = await withTimeout(
        node.filter.subscribe(decoder, (msg) => {
          const text = bytesToUtf8(msg.payload);
          received.set(text, (received.get(text) ?? 0) + 1);
          if (received.size === MESSAGES) allReceived();
        }),
        10_000,
        "filter subscribe",
      );
      assert.equal(subscribed, true, "filter.subscribe returned false");

      // The service's admin view lists this client with its criteria.
      const rest = required("RWAKU_REST");
      const admin = await withTimeout(
        fetch(`${rest}/admin/v1/filter/subscriptions`).then((r) => r.json()),
        5_000,
        "admin filter subscriptions",
      );
      const me = admin.find((entry) => entry.peerId === node.libp2p.peerId.toString());
      assert.ok(me, `admin view lists this client: ${JSON.stringify(admin)}`);
      assert.deepEqual(me.filterCriteria, [{ pubsubTopic: encoder.pubsubTopic, contentTopic }]);

      // 3. lightpush, one message at a time, each acknowledged by the node.
      const startedAt = new Date(Date.now() - 1_000);
      const sent = [];
      for (let i = 0; i < MESSAGES; i++) {
        const text = `${run} message ${i}`;
        const result = await withTimeout(
          node.lightPush.send(encoder, { payload: utf8ToBytes(text) }),
          10_000,
          `lightpush ${i}`,
        );
        assert.deepEqual(result.failures ?? [], [], `lightpush ${i} failed: ${JSON.stringify(result.failures)}`);
        assert.equal(result.successes.length, 1, `lightpush ${i}: one success expected`);
        sent.push(text);
      }

      // 4. every message arrives through filter exactly once.
      await withTimeout(everyMessage, 10_000, "filter pushes");
      for (const text of sent) assert.equal(received.get(text), 1, `filter push count of ${text}`);

      // 5. store: read everything back across pages of two; js pages by the last hash.
      const deadline = Date.now() + 10_000;
      let pages;
      let stored;
      do {
        pages = 0;
        stored = [];
        for await (const page of node.store.queryGenerator([decoder], {
          timeStart: startedAt,
          timeEnd: new Date(Date.now() + 1_000),
          paginationLimit: PAGE,
          paginationForward: true,
        })) {
          const messages = (await Promise.all(page)).filter(Boolean);
          if (messages.length > 0) pages += 1;
          for (const m of messages) stored.push(bytesToUtf8(m.payload));
        }
        if (stored.length < MESSAGES) await new Promise((r) => setTimeout(r, 200));
      } while (stored.length < MESSAGES && Date.now() < deadline);
      // Two messages sent within one millisecond share a timestamp and are then ordered by
      // hash, so compare as sets (the length check catches duplicates).
      assert.equal(stored.length, sent.length, `store returned ${stored.length} messages`);
      assert.deepEqual([...stored].sort(), [...sent].sort(), "store returns every message once");
      assert.ok(pages >= 3, `store answered in ${pages} pages, at least 3 expected`);

      // 6. unsubscribe.
      const unsubscribed = await withTimeout(node.filter.unsubscribe(decoder), 10_000, "unsubscribe");
      assert.equal(unsubscribed, true, "filter.unsubscribe returned false");
    } finally {
      await withTimeout(node.stop(), 10_000, "stop").catch(() => {});
    }
  });
}
