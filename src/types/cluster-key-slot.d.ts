// cluster-key-slot (ioredis's own slot hashing, CRC16 with hash tags) ships no types.
declare module "cluster-key-slot" {
  /** The Redis Cluster slot (0–16383) of a key or sharded channel name. */
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
