/**
 * Buffer.from(uint8Array) copies. Where bytes fresh from an encoder (toBinary,
 * BinaryWriter.finish) are wanted as a Buffer, for Node's sockets or for
 * base64, a view over the same memory does: nothing else holds them.
 */
export function bufferView(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
