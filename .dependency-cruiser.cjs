// The layering rule of the README ("Layout") and ../shared/DESIGN.md, enforced in CI
// (`npm run lint:deps`): imports run one way, transport → rules → storage and infrastructure, with
// the contract and the pure detectors as leaves everybody may use.
//
//   http/, realtime/, webhooks/ (the three ways out)  →  chat/  →  db/, cluster/, media/
//   every layer  →  contract/, errors/, config/, moderation/ (leaves: they import no layer)
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "A cycle between modules means two layers know each other: move the shared part down.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "contract-is-a-leaf",
      severity: "error",
      comment: "src/contract is shared with packages/client: it may import nothing of the server.",
      from: { path: "^src/contract/" },
      to: { path: "^src/", pathNot: "^src/contract/" },
    },
    {
      name: "moderation-is-pure",
      severity: "error",
      comment: "src/moderation holds pure detectors called by chat/: no layer, no I/O.",
      from: { path: "^src/moderation/" },
      to: { path: "^src/", pathNot: "^src/(moderation|contract)/" },
    },
    {
      name: "leaves-import-no-layer",
      severity: "error",
      comment: "errors/, config/ and util/ are below every layer.",
      from: { path: "^src/(errors|config|util)/" },
      // media/file-types.ts is a static table (known upload types) that UPLOAD_FILE_TYPES is checked against.
      to: { path: "^src/(http|realtime|chat|db|cluster|media|webhooks|auth|dev)/", pathNot: "^src/media/file-types\\.ts$" },
    },
    {
      name: "rules-know-no-transport",
      severity: "error",
      comment: "chat/ holds the rules; side effects leave as typed events, never through Fastify or Socket.IO.",
      from: { path: "^src/chat/" },
      to: { path: "^src/(http|realtime)/" },
    },
    {
      name: "storage-knows-no-rules",
      severity: "error",
      comment: "db/, cluster/ and media/ serve the rules; they never call up into chat/ or a transport.",
      from: { path: "^src/(db|cluster|media)/" },
      to: { path: "^src/(chat|http|realtime|webhooks)/" },
    },
    {
      name: "no-sideways-transport",
      severity: "error",
      comment: "HTTP and Socket.IO are two doors to the same rules: neither imports the other.",
      from: { path: "^src/http/" },
      to: { path: "^src/realtime/" },
    },
    {
      name: "no-sideways-transport-back",
      severity: "error",
      comment: "HTTP and Socket.IO are two doors to the same rules: neither imports the other.",
      from: { path: "^src/realtime/" },
      to: { path: "^src/http/" },
    },
    {
      name: "no-transport-into-db",
      severity: "error",
      comment: "Transports go through the rules in chat/, never straight to the repositories.",
      from: { path: "^src/(http|realtime)/" },
      to: { path: "^src/db/", pathNot: "^src/db/(records|generated)" },
    },
    {
      name: "no-server-in-packages",
      severity: "error",
      comment: "The client packages run in browsers: the contract is all they may take from src/.",
      from: { path: "^packages/" },
      to: { path: "^src/", pathNot: "^src/contract/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^src/db/generated/|\\.test\\.ts$)" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"], extensions: [".ts", ".js"] },
  },
};
