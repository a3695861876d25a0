// A property over random interleavings of sends on two real nodes (issue 11, "Tests"), black-box:
// only the contract's HTTP and Socket.IO surface is used to act and to check (one database write
// sets up a ban, below), so it holds for any send path: one statement per message, or group commit
// with ordering at the delivering node.
//
// Each run opens 3 fresh conversations; buyer and seller each have a socket on node a and one on
// node b, listening for message:new before anything is sent. Some conversations get the buyer's
// first message first, the others start empty (the first batch then races for seq 1; the seller
// may write only once a message is known stored, API.md "Opening a conversation"). A random list
// of batches follows, each batch fired all at once (Promise.all), on nodes whose pool holds 2
// connections:
// - sends from both participants, by socket or HTTP, on either node: plain, replying to a message
//   of the conversation already stored, or carrying the sender's own upload (two clientIds may
//   race for the same upload: exactly one gets it);
// - retries of any earlier clientId with the same payload on the other node, by either transport,
//   possibly in the same batch as the first attempt (in flight together);
// - refused items in the same batches: a blocked pair (`blocked`, both sides), a deleted listing
//   (`conflict`, both sides), a user banned through the admin API (`forbidden`, over HTTP: the ban
//   closed their sockets), a user whose ban is in the database but was never announced to the
//   nodes (`forbidden`, socket or HTTP: the refusal comes from the send itself, inside its
//   batch), someone else's upload and a reply target in another conversation (`validation_failed`).
// Afterwards: seq is 1..N with no gap; each (sender, clientId) is stored once and the stored ones
// are exactly the accepted ones; every attempt got the answer its clientId deserves (the same
// message for all attempts of an accepted one, HTTP 201 at most once and 200 for a repeat after
// the store; the contract's code and status for refusals); refusals wrote nothing (their
// conversations keep their messages from before, uploads offered by someone else stay their
// owner's: the owner sends them at the end); every socket of both participants received every
// message of its conversation exactly once, live, in seq order (a last "fence" message per
// conversation is awaited with expect.poll, then the lists must match the history exactly).
//
// The refused conversations live for the whole file: refusals change nothing, so runs share them.
// Failures report every violation found in the run, with fast-check's seed and path; replay with
// SEND_PROP_SEED=<seed> SEND_PROP_PATH=<path>. SEND_PROP_RUNS sets the number of runs (12);
// SEND_PROP_STATS=1 prints each run's attempts by kind and answer. No shrinking (endOnFailure):
// each run costs real processes and a second or so, and an interleaving seldom shrinks cleanly.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connectSocket, emitAck, record, type ClientSocket } from "./support/app.js";
import type { NodeProcess } from "./support/cluster.js";
import { useTwoNodes } from "./support/two-nodes.js";
import { adminToken, serviceToken, token } from "./support/tokens.js";

const uploadDir = mkdtempSync(join(tmpdir(), "mc-send-prop-"));
const cluster = useTwoNodes({
  DATABASE_POOL_SIZE: "2",
  // Rate limits are not what this file checks: a refusal by one would be an answer the model has
  // no reason to expect (the file sends a few hundred messages from a few users within seconds).
  RATE_LIMIT_MESSAGES: "off",
  SOCKET_HANDSHAKES_PER_IP: "1000000/1s",
  UPLOAD_DIR: uploadDir,
});
afterAll(() => rmSync(uploadDir, { recursive: true, force: true }));

const RUNS = Number(process.env.SEND_PROP_RUNS ?? 12);
const REPLAY = process.env.SEND_PROP_SEED
  ? { seed: Number(process.env.SEND_PROP_SEED), ...(process.env.SEND_PROP_PATH ? { path: process.env.SEND_PROP_PATH } : {}) }
  : {};

type NodeName = "a" | "b";
type Transport = "socket" | "http";
type Side = "buyer" | "seller";
type Msg = { id: string; seq: number; conversationId: string; senderId: string | null; clientId: string; replyToId: string | null; attachments: { id: string }[] };
type Outcome = { ok: true; status?: number; message: Msg } | { ok: false; status?: number; code: string };

/** The contract's status for each error code these refusals answer (API.md, "Errors"). */
const STATUS: Record<string, number> = { blocked: 403, forbidden: 403, conflict: 409, validation_failed: 400 };

// ---- commands (what fast-check generates) ----

type Via = { transport: Transport; node: NodeName };
type SendExtra = "none" | "reply" | "ownAttachment" | "foreignAttachment" | "badReply";
type RefusedTarget = "blocked" | "deleted" | "banned" | "bannedLive";
type Cmd =
  | { kind: "send"; conv: number; from: Side; via: Via; extra: SendExtra; pick: number }
  | { kind: "retry"; of: number; transport: Transport }
  | { kind: "refused"; target: RefusedTarget; from: Side; via: Via };

const CONVERSATIONS = 3;
const via = fc.record({ transport: fc.constantFrom<Transport>("socket", "http"), node: fc.constantFrom<NodeName>("a", "b") });
const side = fc.constantFrom<Side>("buyer", "seller");
const sendCmd = fc.record({
  kind: fc.constant("send" as const),
  conv: fc.nat({ max: CONVERSATIONS - 1 }),
  from: side,
  via,
  extra: fc.oneof(
    { arbitrary: fc.constant<SendExtra>("none"), weight: 4 },
    { arbitrary: fc.constant<SendExtra>("reply"), weight: 1 },
    { arbitrary: fc.constant<SendExtra>("ownAttachment"), weight: 1 },
    { arbitrary: fc.constant<SendExtra>("foreignAttachment"), weight: 1 },
    { arbitrary: fc.constant<SendExtra>("badReply"), weight: 1 },
  ),
  pick: fc.nat(),
});
const retryCmd = fc.record({ kind: fc.constant("retry" as const), of: fc.nat(), transport: fc.constantFrom<Transport>("socket", "http") });
const refusedCmd = fc.record({
  kind: fc.constant("refused" as const),
  target: fc.constantFrom<RefusedTarget>("blocked", "deleted", "banned", "bannedLive"),
  from: side,
  via,
});
const cmd: fc.Arbitrary<Cmd> = fc.oneof({ arbitrary: sendCmd, weight: 6 }, { arbitrary: retryCmd, weight: 2 }, { arbitrary: refusedCmd, weight: 2 });
/**
 * Batches fired one after the other, the commands of one batch all at once; and for each
 * conversation whether the buyer's first message is stored before the batches (else the first
 * batches race for seq 1).
 */
const scenario = fc.record({
  startsWithMessage: fc.array(fc.boolean(), { minLength: CONVERSATIONS, maxLength: CONVERSATIONS }),
  batches: fc.array(fc.array(cmd, { minLength: 2, maxLength: 10, size: "max" }), { minLength: 1, maxLength: 5, size: "max" }),
});

// ---- fixtures ----

let a: NodeProcess;
let b: NodeProcess;
const nodeOf = (n: NodeName) => (n === "a" ? a : b);
const other = (n: NodeName): NodeName => (n === "a" ? "b" : "a");

/** Every socket this file made, by `${user}@${node}`; the file's refused-conversation sockets live throughout. */
const sockets = new Map<string, ClientSocket>();
const socketOf = (user: string, node: NodeName) => sockets.get(`${user}@${node}`);

/** A refused conversation: its messages from before the refusals began (seq 1..lastSeq). */
type Pair = { id: string; buyer: string; seller: string; lastSeq: number };
let blocked: Pair;
let deleted: Pair;
let banned: Pair;
let bannedLive: Pair;
/** A message of a conversation no run's user is in: the bad reply target. */
let elsewhereMessageId: string;
/** message:new seen by the sockets of the refused conversations' users: must stay empty. */
const refusedSeen: Msg[][] = [];

async function openSocket(node: NodeName, user: string): Promise<ClientSocket> {
  const s = await connectSocket(nodeOf(node).url, token(user));
  sockets.set(`${user}@${node}`, s);
  return s;
}

const pdf = () => Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(500, 0x41), Buffer.from("\n%%EOF\n")]);

async function upload(node: NodeName, user: string): Promise<string> {
  const form = new FormData();
  form.append("file", new Blob([pdf()], { type: "application/pdf" }), "terms.pdf");
  const res = await fetch(`${nodeOf(node).url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${token(user)}` }, body: form });
  const body = (await res.json()) as { attachments: { id: string }[] };
  if (res.status !== 201) throw new Error(`upload ${res.status} ${JSON.stringify(body)}`);
  return body.attachments[0]!.id;
}

async function history(node: NodeName, conversationId: string, user: string): Promise<Msg[]> {
  const res = await cluster.http(nodeOf(node), "GET", `/api/conversations/${conversationId}/messages?limit=100`, token(user));
  if (res.status !== 200) throw new Error(`history ${res.status} ${JSON.stringify(res.body)}`);
  if (res.body.nextBefore !== null) throw new Error(`history of ${conversationId} holds more than 100 messages`);
  return res.body.items as Msg[];
}

beforeAll(async () => {
  ({ a, b } = cluster);
  // Each with the buyer's first message, so that the seller may write in it (and be refused for
  // the reason under test, not because the conversation is not theirs yet) and read it.
  [blocked, deleted, banned, bannedLive] = (
    await Promise.all(["blk", "del", "ban", "banlive"].map((t) => cluster.conversation(`prop-${t}`, { firstMessage: true })))
  ).map((c) => ({ ...c, lastSeq: 1 })) as [Pair, Pair, Pair, Pair];
  const elsewhere = await cluster.conversation("prop-elsewhere", { firstMessage: true });
  elsewhereMessageId = (await history("a", elsewhere.id, elsewhere.buyer))[0]!.id;

  // Sockets first: the bans below must find them connected (or, through the API, disconnect them).
  for (const user of [blocked.buyer, blocked.seller, deleted.buyer, deleted.seller, bannedLive.buyer]) {
    for (const node of ["a", "b"] as const) refusedSeen.push(record<Msg>(await openSocket(node, user), "message:new"));
  }

  const blockedRes = await cluster.http(a, "POST", "/api/blocks", token(blocked.seller), { userId: blocked.buyer });
  expect(blockedRes.status).toBe(201);
  const del = await cluster.http(b, "PUT", `/api/internal/listings/l-prop-del`, serviceToken(), { sellerId: deleted.seller, title: "Sofa", status: "deleted" });
  expect(del.status).toBe(200);
  // The deletion writes its listing.status_changed system message (seq 2) in the background.
  await vi.waitFor(async () => expect(await history("a", deleted.id, deleted.buyer)).toHaveLength(2), { timeout: 10_000, interval: 50 });
  deleted.lastSeq = 2;
  expect((await cluster.http(a, "POST", `/api/admin/users/${banned.buyer}/ban`, adminToken())).status).toBe(204);
  // A ban that has reached the database but not the nodes (as when another node wrote it and its
  // disconnect is still on its way): the user's sockets stay connected, so their sends reach the
  // send path itself, whose ban check must refuse them whatever batch they share.
  const db = new pg.Client({ connectionString: cluster.env.databaseUrl });
  await db.connect();
  try {
    const { rowCount } = await db.query("UPDATE users SET banned_at = now() WHERE id = $1", [bannedLive.buyer]);
    expect(rowCount).toBe(1);
  } finally {
    await db.end();
  }
});

// ---- one run ----

type Conv = {
  id: string;
  users: Record<Side, string>;
  /** Each participant's own upload, unsent at the start. */
  uploads: Record<Side, string>;
  /** message:new per socket (buyer a, buyer b, seller a, seller b), recorded from before the first send. */
  seen: { label: string; events: Msg[] }[];
  /** Messages known stored when a batch starts (reply targets). */
  stored: Msg[];
};

type Kind = "plain" | "reply" | "own" | "foreign" | "badReply" | RefusedTarget;
type Payload = { conversationId: string; clientId: string; content: string; attachmentIds?: string[]; replyToId?: string };
/** One clientId of one sender, with every attempt made with it. */
type Group = { kind: Kind; conv: Conv | null; sender: string; payload: Payload; attempts: Attempt[]; ownUpload?: string };
type Attempt = { group: Group; batch: number; transport: Transport; node: NodeName; outcome?: Outcome };

const EXPECTED_CODE: Partial<Record<Kind, string>> = {
  foreign: "validation_failed",
  badReply: "validation_failed",
  blocked: "blocked",
  deleted: "conflict",
  banned: "forbidden",
  bannedLive: "forbidden",
};

let runNo = 0;
/**
 * Contents without digits, vowels (no number spelled out) or repeats: the contact-details rule and
 * the spam rule stay out of the way.
 */
const CONSONANTS = "bcdfghjklmnpqrstvwxz";
const letters = (n: number) => {
  let s = "";
  do {
    s = CONSONANTS[n % CONSONANTS.length] + s;
    n = Math.floor(n / CONSONANTS.length);
  } while (n > 0);
  return s;
};
let contentNo = 0;
const freshContent = () => `note ${letters(contentNo++)}`;

async function send(attempt: Attempt): Promise<Outcome> {
  const { group, transport, node } = attempt;
  if (transport === "socket") {
    const s = socketOf(group.sender, node)!;
    try {
      const ack = await emitAck<{ ok: boolean; data?: Msg; error?: { code: string } }>(s, "message:send", group.payload);
      return ack.ok ? { ok: true, message: ack.data! } : { ok: false, code: ack.error?.code ?? `bad ack ${JSON.stringify(ack)}` };
    } catch (err) {
      return { ok: false, code: `no ack (${(err as Error).message})` };
    }
  }
  const { conversationId, ...body } = group.payload;
  const res = await cluster.http(nodeOf(node), "POST", `/api/conversations/${conversationId}/messages`, token(group.sender), body);
  if (res.status === 200 || res.status === 201) return { ok: true, status: res.status, message: res.body as Msg };
  return { ok: false, status: res.status, code: res.body?.error?.code ?? `status ${res.status}` };
}

async function runScenario({ startsWithMessage, batches }: { startsWithMessage: boolean[]; batches: Cmd[][] }): Promise<void> {
  const run = runNo++;
  const opened: ClientSocket[] = [];
  const problems: string[] = [];
  try {
    // Fresh conversations, their four sockets and two uploads.
    const convs: Conv[] = await Promise.all(
      Array.from({ length: CONVERSATIONS }, async (_, i) => {
        const c = await cluster.conversation(`prop-r${run}-${i}-${randomUUID().slice(0, 8)}`);
        const seen: Conv["seen"] = [];
        for (const [s, user] of [["buyer", c.buyer], ["seller", c.seller]] as const) {
          for (const node of ["a", "b"] as const) {
            const socket = await openSocket(node, user);
            opened.push(socket);
            seen.push({ label: `${s}@${node}`, events: record<Msg>(socket, "message:new") });
          }
        }
        const [buyerUpload, sellerUpload] = await Promise.all([upload(i % 2 ? "a" : "b", c.buyer), upload(i % 2 ? "b" : "a", c.seller)]);
        return { id: c.id, users: { buyer: c.buyer, seller: c.seller }, uploads: { buyer: buyerUpload, seller: sellerUpload }, seen, stored: [] };
      }),
    );

    const groups: Group[] = [];
    const attempts: Attempt[] = [];
    const newGroup = (kind: Kind, conv: Conv | null, sender: string, payload: Omit<Payload, "clientId" | "content">, ownUpload?: string): Group => {
      const g: Group = { kind, conv, sender, payload: { ...payload, clientId: randomUUID(), content: freshContent() }, attempts: [], ...(ownUpload ? { ownUpload } : {}) };
      groups.push(g);
      return g;
    };
    const describeAttempt = (at: Attempt) => `${at.group.kind} ${at.group.sender} ${at.transport}@${at.node} batch ${at.batch} clientId ${at.group.payload.clientId}`;

    // The buyer's first message where the scenario says so, now that every socket listens.
    for (const [i, conv] of convs.entries()) {
      if (!startsWithMessage[i]) continue;
      const g = newGroup("plain", conv, conv.users.buyer, { conversationId: conv.id });
      const at: Attempt = { group: g, batch: -1, transport: "http", node: i % 2 ? "a" : "b" };
      g.attempts.push(at);
      attempts.push(at);
      at.outcome = await send(at);
      if (!at.outcome.ok) throw new Error(`first message refused: ${JSON.stringify(at.outcome)}`);
      conv.stored.push(at.outcome.message);
    }

    for (const [batchNo, batch] of batches.entries()) {
      const fired: Attempt[] = [];
      for (const c of batch) {
        let group: Group;
        let transport: Transport;
        let node: NodeName;
        if (c.kind === "send") {
          const conv = convs[c.conv]!;
          // The seller may write once the conversation has a message (API.md, "Opening a
          // conversation"); before one is known stored, the buyer sends instead.
          const from: Side = conv.stored.length === 0 ? "buyer" : c.from;
          const sender = conv.users[from];
          const base = { conversationId: conv.id };
          const otherSide: Side = from === "buyer" ? "seller" : "buyer";
          if (c.extra === "reply" && conv.stored.length > 0) {
            group = newGroup("reply", conv, sender, { ...base, replyToId: conv.stored[c.pick % conv.stored.length]!.id });
          } else if (c.extra === "ownAttachment") {
            group = newGroup("own", conv, sender, { ...base, attachmentIds: [conv.uploads[from]] }, conv.uploads[from]);
          } else if (c.extra === "foreignAttachment") {
            group = newGroup("foreign", conv, sender, { ...base, attachmentIds: [conv.uploads[otherSide]] });
          } else if (c.extra === "badReply") {
            group = newGroup("badReply", conv, sender, { ...base, replyToId: elsewhereMessageId });
          } else {
            group = newGroup("plain", conv, sender, base);
          }
          ({ transport, node } = c.via);
        } else if (c.kind === "refused") {
          const pair = { blocked, deleted, banned, bannedLive }[c.target];
          // The banned ones are buyers; the blocked and deleted conversations refuse both sides.
          const sender = c.target === "banned" || c.target === "bannedLive" ? pair.buyer : pair[c.from];
          group = newGroup(c.target, null, sender, { conversationId: pair.id });
          // A user banned through the API has no socket any more.
          transport = c.target === "banned" ? "http" : c.via.transport;
          node = c.via.node;
        } else {
          // A retry: an earlier clientId (possibly of this very batch, still in flight), same
          // payload, the other node than its first attempt.
          if (groups.length === 0) continue;
          group = groups[c.of % groups.length]!;
          const first = group.attempts[0]!;
          transport = group.kind === "banned" ? "http" : c.transport;
          node = other(first.node);
        }
        const attempt: Attempt = { group, batch: batchNo, transport, node };
        group.attempts.push(attempt);
        attempts.push(attempt);
        fired.push(attempt);
      }
      await Promise.all(fired.map(async (at) => (at.outcome = await send(at))));
      for (const at of fired) {
        const conv = at.group.conv;
        if (at.outcome?.ok && conv && !conv.stored.some((m) => m.id === (at.outcome as { message: Msg }).message.id)) {
          conv.stored.push((at.outcome as { message: Msg }).message);
        }
      }
    }

    // Uploads no accepted send took are still their owner's: the owner sends each now (HTTP 201),
    // which proves no refused attempt claimed it. Then a fence, after which every socket must
    // hold everything.
    for (const conv of convs) {
      for (const s of ["buyer", "seller"] as const) {
        const upl = conv.uploads[s];
        const taken = groups.some((g) => g.ownUpload === upl && g.attempts.some((at) => at.outcome?.ok));
        if (taken) continue;
        const g = newGroup("own", conv, conv.users[s], { conversationId: conv.id, attachmentIds: [upl] }, upl);
        const at: Attempt = { group: g, batch: batches.length, transport: "http", node: "b" };
        g.attempts.push(at);
        attempts.push(at);
        at.outcome = await send(at);
        if (!at.outcome.ok || at.outcome.status !== 201) problems.push(`the owner's late send of an upload no one stored was refused: ${describeAttempt(at)} -> ${JSON.stringify(at.outcome)}`);
      }
      const fence = newGroup("plain", conv, conv.users.buyer, { conversationId: conv.id });
      const at: Attempt = { group: fence, batch: batches.length, transport: "http", node: "a" };
      fence.attempts.push(at);
      attempts.push(at);
      at.outcome = await send(at);
    }

    // ---- answers ----
    for (const g of groups) {
      const expected = EXPECTED_CODE[g.kind];
      if (expected) {
        for (const at of g.attempts) {
          const o = at.outcome!;
          if (o.ok || o.code !== expected || (at.transport === "http" && o.status !== STATUS[expected])) {
            problems.push(`expected ${expected} for ${describeAttempt(at)}, got ${JSON.stringify(o.ok ? { status: o.status, seq: o.message.seq } : o)}`);
          }
        }
        continue;
      }
      const oks = g.attempts.filter((at) => at.outcome!.ok);
      if (g.kind === "own") {
        // Either every attempt of this clientId got the upload or none did (validation_failed).
        const refusedAts = g.attempts.filter((at) => !at.outcome!.ok);
        for (const at of refusedAts) {
          const o = at.outcome as { code: string; status?: number };
          if (o.code !== "validation_failed") problems.push(`own upload: expected ok or validation_failed for ${describeAttempt(at)}, got ${JSON.stringify(o)}`);
        }
        if (oks.length > 0 && refusedAts.length > 0) problems.push(`own upload: attempts of one clientId disagree: ${g.attempts.map((at) => `${describeAttempt(at)} -> ${JSON.stringify(at.outcome)}`).join("; ")}`);
      } else {
        for (const at of g.attempts) if (!at.outcome!.ok) problems.push(`expected an accepted send for ${describeAttempt(at)}, got ${JSON.stringify(at.outcome)}`);
      }
      if (oks.length === 0) continue;
      const ids = new Set(oks.map((at) => (at.outcome as { message: Msg }).message.id));
      if (ids.size !== 1) problems.push(`attempts of clientId ${g.payload.clientId} answered different messages: ${[...ids].join(", ")}`);
      const https = g.attempts.filter((at) => at.transport === "http" && at.outcome!.ok);
      const created = https.filter((at) => at.outcome!.status === 201);
      if (created.length > 1) problems.push(`clientId ${g.payload.clientId} answered 201 (created) ${created.length} times`);
      if (https.length === g.attempts.length && created.length !== 1) problems.push(`clientId ${g.payload.clientId}: only HTTP attempts, yet ${created.length} answered 201`);
      // An attempt made after another one was already answered with the message is a plain repeat: 200.
      const firstOkBatch = Math.min(...oks.map((at) => at.batch));
      for (const at of https) {
        if (at.batch > firstOkBatch && at.outcome!.status !== 200) problems.push(`a repeat after the message was stored must answer 200: ${describeAttempt(at)} -> ${at.outcome!.status}`);
      }
    }
    // Each upload went into exactly one clientId's message (the late sends above included).
    for (const conv of convs) {
      for (const upl of Object.values(conv.uploads)) {
        const winners = groups.filter((g) => g.ownUpload === upl && g.attempts.some((at) => at.outcome!.ok));
        if (winners.length !== 1) {
          problems.push(`upload ${upl} was given to ${winners.length} clientIds: ${winners.map((g) => g.attempts.map((at) => `[${describeAttempt(at)} -> ${at.outcome!.ok ? `seq ${(at.outcome as { message: Msg }).message.seq} attachments [${(at.outcome as { message: Msg }).message.attachments.map((x) => x.id)}]` : JSON.stringify(at.outcome)}]`).join(" ")).join(" / ")}`);
        }
      }
    }

    // ---- stored ----
    for (const conv of convs) {
      const items = await history("b", conv.id, conv.users.buyer);
      const seqs = items.map((m) => m.seq);
      const n = items.length;
      if (seqs.join(",") !== Array.from({ length: n }, (_, i) => i + 1).join(",")) problems.push(`conversation ${conv.id}: seq ${seqs.join(",")} is not 1..${n}`);
      const byKey = new Map<string, Msg[]>();
      for (const m of items) byKey.set(`${m.senderId}/${m.clientId}`, [...(byKey.get(`${m.senderId}/${m.clientId}`) ?? []), m]);
      for (const [k, ms] of byKey) if (ms.length !== 1) problems.push(`conversation ${conv.id}: (sender, clientId) ${k} stored ${ms.length} times`);
      const accepted = groups.filter((g) => g.conv === conv && g.attempts.some((at) => at.outcome!.ok));
      const refusedHere = groups.filter((g) => g.conv === conv && !g.attempts.some((at) => at.outcome!.ok));
      for (const g of accepted) {
        const stored = byKey.get(`${g.sender}/${g.payload.clientId}`)?.[0];
        const answered = (g.attempts.find((at) => at.outcome!.ok)!.outcome as { message: Msg }).message;
        if (!stored) {
          problems.push(`conversation ${conv.id}: accepted clientId ${g.payload.clientId} (${g.kind}, seq ${answered.seq}) is not stored`);
          continue;
        }
        if (stored.id !== answered.id || stored.seq !== answered.seq) problems.push(`clientId ${g.payload.clientId}: answered ${answered.id} seq ${answered.seq}, stored ${stored.id} seq ${stored.seq}`);
        if (stored.replyToId !== (g.payload.replyToId ?? null)) problems.push(`clientId ${g.payload.clientId}: replyToId ${stored.replyToId}, sent ${g.payload.replyToId}`);
        const atts = stored.attachments.map((x) => x.id).join(",");
        if (atts !== (g.payload.attachmentIds ?? []).join(",")) problems.push(`clientId ${g.payload.clientId}: attachments [${atts}], sent [${g.payload.attachmentIds ?? []}]`);
      }
      for (const g of refusedHere) {
        if (byKey.has(`${g.sender}/${g.payload.clientId}`)) problems.push(`refused clientId ${g.payload.clientId} (${g.kind}) is stored`);
      }
      if (n !== accepted.length) problems.push(`conversation ${conv.id}: ${n} messages stored, ${accepted.length} clientIds accepted`);

      // ---- delivered: every socket, every message, once, in seq order ----
      const fenceId = items.at(-1)?.id;
      try {
        await expect.poll(() => conv.seen.every((s) => s.events.some((m) => m.id === fenceId)), { timeout: 10_000 }).toBe(true);
      } catch {
        // Reported below with what each socket holds.
      }
      const expectedIds = items.map((m) => m.id).join(",");
      for (const s of conv.seen) {
        const mine = s.events.filter((m) => m.conversationId === conv.id);
        if (mine.map((m) => m.id).join(",") !== expectedIds) {
          problems.push(`conversation ${conv.id}: socket ${s.label} received seq [${mine.map((m) => m.seq).join(",")}], stored [${seqs.join(",")}]`);
        }
      }
    }
    // Refusals wrote nothing anywhere.
    const refusedPairs = [blocked, deleted, banned, bannedLive];
    for (const pair of refusedPairs) {
      const items = await history(run % 2 ? "a" : "b", pair.id, pair.seller);
      if (items.length !== pair.lastSeq) problems.push(`refused conversation ${pair.id} holds seq ${items.map((m) => m.seq).join(",")}, had 1..${pair.lastSeq}`);
    }
    // (Their messages from before the refusals may have reached these sockets after they connected.)
    const stray = refusedSeen.flat().filter((m) => m.seq > (refusedPairs.find((p) => p.id === m.conversationId)?.lastSeq ?? 0));
    if (stray.length > 0) problems.push(`sockets of refused conversations received message:new: ${stray.map((m) => `${m.conversationId}#${m.seq}`).join(", ")}`);

    if (process.env.SEND_PROP_STATS) {
      const tally: Record<string, number> = {};
      for (const at of attempts) {
        const k = `${at.group.kind}${at !== at.group.attempts[0] ? "(retry)" : ""}:${at.outcome!.ok ? `ok${at.outcome!.status ?? ""}` : (at.outcome as { code: string }).code}`;
        tally[k] = (tally[k] ?? 0) + 1;
      }
      console.log(`run ${run} batches ${batches.map((x) => x.length).join("+")}`, JSON.stringify(tally));
    }
    expect(problems, `run ${run}: ${attempts.length} attempts`).toEqual([]);
  } finally {
    for (const s of opened) s.close();
  }
}

describe("send interleavings on two nodes (pool of 2 each)", () => {
  it("seq 1..N without gaps, each clientId once, refusals answered and storing nothing, every socket gets every message once in order", async () => {
    await fc.assert(fc.asyncProperty(scenario, runScenario), { numRuns: RUNS, endOnFailure: true, ...REPLAY });
  }, 240_000);
});

describe("one upload, two clientIds on two nodes at once", () => {
  // What the property above finds now and then, made likely: a send queued behind the
  // conversation's lock must see an upload claimed meanwhile by another send of the same sender
  // and refuse it (validation_failed, as when sent one after the other), not store a message
  // without its attachment. A filler send holds the lock so that both wait.
  it("exactly one of them gets it; the other is refused with validation_failed and stores nothing", async () => {
    const c = await cluster.conversation(`prop-claim-${randomUUID().slice(0, 8)}`, { firstMessage: true });
    const problems: string[] = [];
    for (let round = 0; round < 8; round++) {
      const att = await upload("a", c.buyer);
      const post = (node: NodeName, body: Record<string, unknown>) =>
        cluster.http(nodeOf(node), "POST", `/api/conversations/${c.id}/messages`, token(c.buyer), { clientId: randomUUID(), ...body });
      const [, x, y] = await Promise.all([
        post("a", { content: `filler ${letters(round)}` }),
        post("a", { content: `with it ${letters(round)}`, attachmentIds: [att] }),
        post("b", { content: `with it too ${letters(round)}`, attachmentIds: [att] }),
      ]);
      const answers = [x, y].map((r) => (r.status === 201 ? `201 seq ${r.body.seq} attachments [${r.body.attachments.map((a: { id: string }) => a.id)}]` : `${r.status} ${r.body.error?.code}`));
      const won = [x, y].filter((r) => r.status === 201 && r.body.attachments.length === 1 && r.body.attachments[0].id === att);
      const refused = [x, y].filter((r) => r.status === 400 && r.body.error?.code === "validation_failed");
      if (won.length !== 1 || refused.length !== 1) problems.push(`round ${round}, upload ${att}: ${answers.join(" / ")}`);
    }
    expect(problems).toEqual([]);
  }, 60_000);
});
