// LineChunk (the NDJSON sink's chunk) encodes lines exactly as Buffer.from of the joined text would, at any size and in any script.

import t from 'tap';
import { LineChunk } from '../lib/sinks/line-chunk.js';

/** Lines of every UTF-8 length class: ASCII, 2-byte (é), 3-byte (€, CJK), 4-byte (emoji, a surrogate pair), and escapes. */
function sampleLines(count: number, seed: number): string[] {
  const pieces = ['plain ascii ', 'é', '€', '漢字', '😀', '\\ud800', '"quoted"', '\t', 'x'.repeat(50)];
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const lines: string[] = [];
  for (let index = 0; index < count; index++) {
    let text = '';
    const parts = Math.floor(random() * 40);
    for (let part = 0; part < parts; part++) text += pieces[Math.floor(random() * pieces.length)];
    lines.push(JSON.stringify({ _id: `id-${index}`, text }));
  }
  return lines;
}

/** Everything written through a chunk of `target` bytes, flushing when full, as the sink does. */
function written(lines: Array<string | Uint8Array>, target: number): { bytes: Buffer; chunks: number[] } {
  const chunk = new LineChunk(target);
  const parts: Buffer[] = [];
  for (const line of lines) {
    if (typeof line === 'string') chunk.addLine(line);
    else chunk.addBytes(line);
    if (chunk.full) parts.push(chunk.take()!);
  }
  const last = chunk.take();
  if (last) parts.push(last);
  t.equal(chunk.take(), undefined, 'an empty chunk gives nothing to write');
  return { bytes: Buffer.concat(parts), chunks: parts.map((part) => part.length) };
}

t.test('lines in any script come out as the UTF-8 of the joined text, one newline each', async (t) => {
  const lines = sampleLines(3000, 7);
  const expected = Buffer.from(lines.join('\n') + '\n');
  for (const target of [1, 100, 4096, 64 * 1024]) {
    const { bytes, chunks } = written(lines, target);
    t.ok(bytes.equals(expected), `chunks of ${target} bytes: byte-identical`);
    if (target === 64 * 1024)
      t.ok(
        chunks.slice(0, -1).every((size) => size >= target && size < target + 4096),
        'chunks of about the target size',
      );
  }
});

t.test('a line far larger than the chunk is written whole', async (t) => {
  const huge = JSON.stringify({ text: '😀€é'.repeat(60_000) });
  const lines = ['{"a":1}', huge, '{"b":2}'];
  const { bytes } = written(lines, 1024);
  t.ok(bytes.equals(Buffer.from(lines.join('\n') + '\n')), 'byte-identical');
});

t.test('lines given as bytes mix with lines given as text', async (t) => {
  const lines = sampleLines(500, 11);
  const mixed = lines.map((line, index) => (index % 3 === 0 ? Buffer.from(line) : line));
  t.ok(written(mixed, 2048).bytes.equals(Buffer.from(lines.join('\n') + '\n')), 'byte-identical');
});

t.test('addDocument takes the bytes, then the line a stage made, then JSON.stringify', async (t) => {
  const withBytes = { _id: 'a' };
  const withLine = { _id: 'b' };
  const plain = { _id: 'c', text: 'ü' };
  const chunk = new LineChunk(1 << 16, {
    lineBytesOf: (document) => (document === withBytes ? Buffer.from('{"from":"bytes"}') : undefined),
    lineOf: (document) => (document === withLine ? '{"from":"line"}' : undefined),
  });
  for (const document of [withBytes, withLine, plain]) chunk.addDocument(document);
  t.equal(chunk.take()!.toString('utf8'), '{"from":"bytes"}\n{"from":"line"}\n{"_id":"c","text":"ü"}\n');
});
