// Container logs from the Engine API (non-TTY containers) are multiplexed frames: an 8-byte header
// [stream (1 = stdout, 2 = stderr), 0, 0, 0, size (uint32 big-endian)] followed by `size` bytes of payload.

function looksFramed(buffer: Buffer): boolean {
  return buffer.length >= 8 && buffer[0]! <= 2 && buffer[1] === 0 && buffer[2] === 0 && buffer[3] === 0;
}

export function demuxDockerLogs(buffer: Buffer): { stdout: string; stderr: string } {
  // A buffer that is not framed at all (TTY containers) is plain stdout.
  if (!looksFramed(buffer)) return { stdout: buffer.toString('utf8'), stderr: '' };
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const stream = buffer[offset]!;
    const size = buffer.readUInt32BE(offset + 4);
    const payload = buffer.subarray(offset + 8, Math.min(buffer.length, offset + 8 + size));
    if (stream === 2) stderr.push(payload);
    else stdout.push(payload);
    offset += 8 + size;
  }
  return { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
}
