// The service's public shapes and Socket.IO event maps. Their single source is the server's leaf
// module src/contract/ (types only, no server code); the build inlines them into dist/index.d.ts,
// so the published package carries them and imports nothing from the server.
export type * from "../../../src/contract/shapes.js";
export type * from "../../../src/contract/socket-events.js";
