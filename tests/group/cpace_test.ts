import {
  assert,
  assertEquals,
  assertNotEquals,
  assertStrictEquals,
  assertThrows,
} from "../assert.ts";
import { hkdfSync } from "node:crypto";
import {
  calculateGenerator,
  confirmationKey,
  confirmationTag,
  CPACE_DSI,
  deriveIsk,
  generatorString,
  JOIN_AD_INITIATOR,
  JOIN_AD_RESPONDER,
  lexiographicallyLarger,
  lvCat,
  oCat,
  prependLen,
  sampleScalar,
  scalarFromBytes,
  scalarMult,
  scalarMultVfy,
  sha512,
  SHA512_BLOCK_BYTES,
  transcriptIr,
  transcriptOc,
} from "../../src/group/cpace.ts";
import {
  generateJoinCode,
  JoinConfirmationError,
  JoinPake,
  type JoinPakeOptions,
  PakeShareError,
  parseJoinCode,
} from "../../src/group/mod.ts";
import { fromHex, toHex } from "../crypto/_hex.ts";
import { SeededRandom } from "../crypto/_random.ts";

const vectors = JSON.parse(
  await Deno.readTextFile(
    new URL("../testdata/cpace_ristretto255_vectors.json", import.meta.url),
  ),
);
const R = vectors.ristretto255_sha512;

Deno.test("prependLen() matches draft-irtf-cfrg-cpace-21 A.1 vectors", () => {
  for (const v of vectors.prepend_len) {
    const input = v.input_range === undefined
      ? fromHex(v.input)
      : Uint8Array.from({ length: v.input_range }, (_, i) => i);
    assertStrictEquals(toHex(prependLen(input)), v.output);
  }
});

Deno.test("lvCat() matches the draft's vector", () => {
  assertStrictEquals(
    toHex(lvCat(...vectors.lv_cat.inputs.map(fromHex))),
    vectors.lv_cat.output,
  );
});

Deno.test("lexiographicallyLarger() and oCat() match the draft's vectors", () => {
  for (const v of vectors.lexiographically_larger) {
    assertStrictEquals(
      lexiographicallyLarger(fromHex(v.a), fromHex(v.b)),
      v.larger,
      `${v.a} > ${v.b}`,
    );
  }
  for (const v of vectors.o_cat) {
    assertStrictEquals(toHex(oCat(fromHex(v.a), fromHex(v.b))), v.output);
  }
});

Deno.test("transcriptIr() and transcriptOc() match the draft's vectors", () => {
  for (const v of vectors.transcript_ir) {
    const args = [v.Ya, v.ADa, v.Yb, v.ADb].map(fromHex) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    assertStrictEquals(toHex(transcriptIr(...args)), v.output);
  }
  for (const v of vectors.transcript_oc) {
    const args = [v.Ya, v.ADa, v.Yb, v.ADb].map(fromHex) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    assertStrictEquals(toHex(transcriptOc(...args)), v.output);
  }
});

Deno.test("generatorString() and calculateGenerator() match B.3.1 (ristretto255, SHA-512)", () => {
  assertStrictEquals(toHex(CPACE_DSI), R.DSI);
  const genStr = generatorString(
    CPACE_DSI,
    fromHex(R.PRS),
    fromHex(R.CI),
    fromHex(R.sid),
    SHA512_BLOCK_BYTES,
  );
  assertStrictEquals(toHex(genStr), R.generator_string);
  assertStrictEquals(toHex(sha512(genStr)), R.generator_string_hash);
  const g = calculateGenerator(fromHex(R.PRS), fromHex(R.CI), fromHex(R.sid));
  assertStrictEquals(toHex(g.toBytes()), R.g);
});

Deno.test("scalarMult() and scalarMultVfy() give Ya, Yb and K of B.3.2–B.3.4", () => {
  const g = calculateGenerator(fromHex(R.PRS), fromHex(R.CI), fromHex(R.sid));
  const ya = scalarFromBytes(fromHex(R.ya));
  const yb = scalarFromBytes(fromHex(R.yb));
  assertStrictEquals(toHex(scalarMult(ya, g)), R.Ya);
  assertStrictEquals(toHex(scalarMult(yb, g)), R.Yb);
  assertStrictEquals(toHex(scalarMultVfy(ya, fromHex(R.Yb))), R.K);
  assertStrictEquals(toHex(scalarMultVfy(yb, fromHex(R.Ya))), R.K);
});

Deno.test("deriveIsk() gives ISK_IR and ISK_SY of B.3.5–B.3.6", () => {
  const sid = fromHex(R.sid);
  const k = fromHex(R.K);
  const ir = transcriptIr(
    fromHex(R.Ya),
    fromHex(R.ADa),
    fromHex(R.Yb),
    fromHex(R.ADb),
  );
  assertStrictEquals(toHex(ir), R.transcript_ir);
  assertStrictEquals(toHex(deriveIsk(sid, k, ir)), R.ISK_IR);
  const oc = transcriptOc(
    fromHex(R.Ya),
    fromHex(R.ADa),
    fromHex(R.Yb),
    fromHex(R.ADb),
  );
  assertStrictEquals(toHex(deriveIsk(sid, k, oc)), R.ISK_SY);
  const sidOutput = new TextEncoder().encode("CPaceSidOutput");
  assertStrictEquals(
    toHex(sha512(new Uint8Array([...sidOutput, ...ir]))),
    R.sid_output_ir,
  );
});

Deno.test("scalarMultVfy() matches B.3.10 and returns G.I for B.3.11's invalid inputs", () => {
  const valid = R.scalar_mult_valid;
  const s = scalarFromBytes(fromHex(valid.s));
  assertStrictEquals(
    toHex(scalarMultVfy(s, fromHex(valid.X))),
    valid.scalar_mult_vfy,
  );
  const bad = R.scalar_mult_vfy_invalid;
  for (const y of [bad.Y_i1_invalid_encoding, bad.Y_i2_identity]) {
    assertStrictEquals(toHex(scalarMultVfy(s, fromHex(y))), bad.expected);
  }
  // Wrong length and a non-canonical (high bit) encoding also give G.I.
  assertStrictEquals(toHex(scalarMultVfy(s, new Uint8Array(31))), bad.expected);
  const high = fromHex(valid.X);
  high[31]! |= 0x80;
  assertStrictEquals(toHex(scalarMultVfy(s, high)), bad.expected);
});

Deno.test("sampleScalar() clears the bits above 252 and never returns zero", () => {
  const ones = () => new Uint8Array(32).fill(0xff);
  assertStrictEquals(sampleScalar(ones), (1n << 252n) - 1n);
  let calls = 0;
  const zeroThenOne = (n: number) => {
    calls++;
    const out = new Uint8Array(n);
    if (calls > 1) out[0] = 1;
    return out;
  };
  assertStrictEquals(sampleScalar(zeroThenOne), 1n);
  assertStrictEquals(calls, 2);
  assertThrows(() => sampleScalar(() => new Uint8Array(31)), RangeError);
});

// ---------------------------------------------------------------------------
// JoinPake

const CODE = parseJoinCode("0000-0000-0000");
const rng = new SeededRandom(16);
const SID = rng.bytes(32);
const ID_I = rng.bytes(32);
const ID_R = rng.bytes(32);

function pair(
  initiatorCode = CODE,
  responderCode = CODE,
  overrides: Partial<JoinPakeOptions> = {},
) {
  const base = { sid: SID, initiatorId: ID_I, responderId: ID_R };
  const a = JoinPake.start({
    ...base,
    role: "initiator",
    code: initiatorCode,
    ...overrides,
  });
  const b = JoinPake.start({ ...base, role: "responder", code: responderCode });
  return { a, b };
}

Deno.test("JoinPake with the same code gives both sides the same keys", () => {
  const { a, b } = pair();
  const tagB = b.receive(a.share);
  const tagA = a.receive(b.share);
  const keysA = a.confirm(tagB);
  const keysB = b.confirm(tagA);
  assertStrictEquals(keysA.isk.length, 64);
  assertStrictEquals(keysA.handoverKey.length, 32);
  assertEquals(keysA, keysB);
  assertNotEquals(tagA, tagB);
});

Deno.test("JoinPake follows the documented construction (CI, AD, mac_key, tags)", () => {
  const { a, b } = pair();
  const tagB = b.receive(a.share);
  const tagA = a.receive(b.share);
  const keys = a.confirm(tagB);
  const ci = lvCat(new TextEncoder().encode("dsync/2 join"), ID_I, ID_R);
  const g = calculateGenerator(CODE.password, ci, SID);
  assert(g.toBytes().length === 32);
  const macKey = confirmationKey(SID, keys.isk);
  assertEquals(tagA, confirmationTag(macKey, a.share, JOIN_AD_INITIATOR));
  assertEquals(tagB, confirmationTag(macKey, b.share, JOIN_AD_RESPONDER));
  assertEquals(
    keys.handoverKey,
    new Uint8Array(
      hkdfSync("sha256", keys.isk, SID, "dsync/2 join handover", 32),
    ),
  );
});

Deno.test("JoinPake with different codes fails confirmation on both sides", () => {
  const other = generateJoinCode(() => new Uint8Array(7).fill(0xab));
  const { a, b } = pair(CODE, other);
  const tagB = b.receive(a.share);
  const tagA = a.receive(b.share);
  assertThrows(() => a.confirm(tagB), JoinConfirmationError);
  assertThrows(() => b.confirm(tagA), JoinConfirmationError);
});

Deno.test("JoinPake binds the channel: a different sid or party id fails", () => {
  for (
    const overrides of [
      { sid: rng.bytes(32) },
      { initiatorId: rng.bytes(32) },
      { responderId: rng.bytes(32) },
    ]
  ) {
    const { a, b } = pair(CODE, CODE, overrides);
    const tagB = b.receive(a.share);
    a.receive(b.share);
    assertThrows(() => a.confirm(tagB), JoinConfirmationError);
  }
});

Deno.test("JoinPake refuses invalid, neutral and reflected shares", () => {
  const cases: Array<[string, (a: JoinPake) => Uint8Array]> = [
    ["identity", () => new Uint8Array(32)],
    [
      "invalid encoding",
      () => fromHex(R.scalar_mult_vfy_invalid.Y_i1_invalid_encoding),
    ],
    ["short", () => new Uint8Array(31)],
    ["long", () => new Uint8Array(33)],
    ["reflected", (a) => a.share],
  ];
  for (const [name, share] of cases) {
    const { a } = pair();
    assertThrows(() => a.receive(share(a)), PakeShareError, undefined, name);
    // A failed PAKE cannot be continued.
    assertThrows(
      () => a.confirm(new Uint8Array(64)),
      TypeError,
      undefined,
      name,
    );
  }
});

Deno.test("JoinPake rejects truncated or altered tags and bad inputs", () => {
  const { a, b } = pair();
  const tagB = b.receive(a.share);
  a.receive(b.share);
  assertThrows(() => a.confirm(tagB.subarray(0, 32)), JoinConfirmationError);
  assertThrows(() => a.confirm(tagB), TypeError); // already failed
  const base = { role: "initiator" as const, code: CODE, sid: SID };
  assertThrows(() =>
    JoinPake.start({
      ...base,
      sid: new Uint8Array(16),
      initiatorId: ID_I,
      responderId: ID_R,
    }), RangeError);
  assertThrows(
    () => JoinPake.start({ ...base, initiatorId: ID_I, responderId: ID_I }),
    RangeError,
  );
  assertThrows(() =>
    JoinPake.start({
      ...base,
      role: "server" as "initiator",
      initiatorId: ID_I,
      responderId: ID_R,
    }), TypeError);
});
