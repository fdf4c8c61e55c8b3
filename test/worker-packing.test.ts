// Documents packed for the hashing worker come back from a structured clone with the same own keys, order and JSON.

import t, { type Test } from 'tap';
import { MessageChannel } from 'node:worker_threads';
import { DocumentPacker, DocumentUnpacker, type PackedBatch } from '../lib/transforms/worker-packing.js';

/** What crosses to the worker: a real structured clone, as postMessage makes it. */
const crossed = (batch: PackedBatch): PackedBatch => structuredClone(batch);

const sameDocuments = (t: Test, rebuilt: object[], originals: object[], message: string) => {
  t.same(
    rebuilt.map((document) => [Object.keys(document), JSON.stringify(document)]),
    originals.map((document) => [Object.keys(document), JSON.stringify(document)]),
    message,
  );
};

t.test('documents of every kind rebuild with the same keys in the same order, shapes sent once', async (t) => {
  const packer = new DocumentPacker();
  const unpacker = new DocumentUnpacker();
  const message = (index: number) => ({
    _id: `C1-${index}`,
    type: 'message',
    text: `hello ${index} ✓ "quoted" \u2028`,
    reply_count: index % 2 === 0 ? null : index,
    files: index % 3 === 0 ? [{ id: 'F1', name: 'a.txt', nested: { deep: [1, 2, { x: null }] } }] : null,
    missing: undefined,
    _timestamp: '2023-11-14T22:13:20.123Z',
  });
  const first = [message(1), message(2), { _id: 'U1', type: 'user', name: 'ann' }, message(3)];
  const packedFirst = packer.pack(first);
  t.equal(packedFirst.newShapes.length, 2, 'one shape per kind of document');
  sameDocuments(t, unpacker.unpack(crossed(packedFirst)), first, 'first batch');

  const second = [
    message(4),
    { type: 'message', _id: 'C1-5', text: 'other key order' },
    { 10: 'integer-like keys', 2: 'come first', type: 'odd', a: 1 },
    { type: 'message', ['__proto__']: { polluted: true }, _id: 'C1-6' } as object,
    { _id: 'T1', type: 'tombstone', deleted_type: 'message' },
  ];
  // A literal `__proto__` key would set the prototype: define it as an own field, as JSON.parse does.
  second[3] = JSON.parse('{"type":"message","__proto__":{"polluted":true},"_id":"C1-6"}') as object;
  const packedSecond = packer.pack(second);
  t.same(
    packedSecond.newShapes.map((shape) => shape.keys[0]),
    ['type', '2', '_id'],
    'known shapes are not sent again; a __proto__ field is sent whole',
  );
  t.equal(packedSecond.shapes[3], -1);
  const rebuilt = unpacker.unpack(crossed(packedSecond));
  sameDocuments(t, rebuilt, second, 'second batch');
  t.equal(Object.getPrototypeOf(rebuilt[3]), Object.prototype, 'the prototype is untouched');
  t.same((rebuilt[3] as Record<string, unknown>)['__proto__'], { polluted: true }, 'and __proto__ stays a field');
});

t.test('beyond the shapes remembered per type, documents are sent whole and still rebuild', async (t) => {
  const packer = new DocumentPacker();
  const unpacker = new DocumentUnpacker();
  const documents = Array.from({ length: 20 }, (_, index) => ({ type: 'message', [`field${index}`]: index, _id: `C1-${index}` }));
  const packed = packer.pack(documents);
  t.equal(packed.newShapes.length, 8, 'eight shapes of one type are remembered');
  t.equal([...packed.shapes].filter((shape) => shape === -1).length, 12, 'the others are sent whole');
  sameDocuments(t, unpacker.unpack(crossed(packed)), documents, 'all of them rebuild');
});

t.test('a batch that cannot cross threads leaves its new shapes to be sent with the next batch', async (t) => {
  const packer = new DocumentPacker();
  const unpacker = new DocumentUnpacker();
  const { port1, port2 } = new MessageChannel();
  t.teardown(() => {
    port1.close();
    port2.close();
  });
  const failing = packer.pack([{ type: 'message', _id: 'C1-1', text: () => 'a function' }]);
  t.throws(() => port1.postMessage(failing), /could not be cloned/);
  packer.discard(failing);
  const documents = [{ type: 'message', _id: 'C1-2', text: 'plain' }];
  const packed = packer.pack(documents);
  t.equal(packed.newShapes.length, 1, 'the shape is sent again');
  sameDocuments(t, unpacker.unpack(crossed(packed)), documents, 'and the document rebuilds');
});

t.test('anything but a plain object is sent whole, and a getter that throws leaves no shape behind', async (t) => {
  const packer = new DocumentPacker();
  const unpacker = new DocumentUnpacker();
  const documents: object[] = [['x', 'y'], new Date(0), Object.assign(Object.create(null) as object, { type: 'message', _id: 'C1-1' })];
  const packed = packer.pack(documents);
  t.same([...packed.shapes], [-1, -1, 0], 'an array and a Date go whole; a null-prototype object is packed');
  sameDocuments(t, unpacker.unpack(crossed(packed)), documents, 'they serialise as before');

  const throwing = {
    type: 'user',
    _id: 'U1',
    get name(): string {
      throw new Error('getter failed');
    },
  };
  t.throws(() => packer.pack([{ type: 'user', _id: 'U0', name: 'ann' }, throwing]), /getter failed/);
  const next = [{ type: 'user', _id: 'U2', name: 'bob' }];
  const packedNext = packer.pack(next);
  t.equal(packedNext.newShapes.length, 1, 'the shape of the failed batch is sent with the next one');
  sameDocuments(t, unpacker.unpack(crossed(packedNext)), next, 'and the document rebuilds');
});
