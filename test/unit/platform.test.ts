// Platform parsing and index selection against containerd/platforms' vectors (platforms_test.go,
// compare_test.go TestOnly/TestOnlyStrict), plus the media types and manifest parsing they rely on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatPlatform,
  hostPlatform,
  InvalidPlatformError,
  normalizePlatform,
  parsePlatform,
  platformMatches,
  PlatformNotFoundError,
  selectManifest,
} from '../../server/src/core/platform';
import {
  DOCKER_FOREIGN_LAYER_TAR_GZIP,
  DOCKER_IMAGE_CONFIG,
  DOCKER_LAYER_TAR_GZIP,
  DOCKER_MANIFEST_LIST_V2,
  DOCKER_MANIFEST_V2,
  isForeignLayerMediaType,
  isImageManifestMediaType,
  isIndexMediaType,
  isLayerMediaType,
  MANIFEST_ACCEPT,
  MANIFEST_ACCEPT_HEADER,
  ManifestInvalidError,
  OCI_IMAGE_CONFIG,
  OCI_IMAGE_INDEX,
  OCI_IMAGE_MANIFEST,
  OCI_LAYER_NONDISTRIBUTABLE_TAR_GZIP,
  OCI_LAYER_TAR_GZIP,
  OCI_LAYER_TAR_ZSTD,
  parseManifest,
  type Descriptor,
  type ImageIndex,
  type Platform,
} from '../../server/src/core/mediaTypes';

const AMD64: Platform = { os: 'linux', architecture: 'amd64' };
const digestOf = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

void describe('parsePlatform (platforms.go Parse)', () => {
  const cases: [string, Platform, string][] = [
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/arm64', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64/v8'],
    ['linux/aarch64', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    ['linux/aarch64/8', { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64/v8'],
    ['linux/arm64/v9.0', { os: 'linux', architecture: 'arm64', variant: 'v9' }, 'linux/arm64/v9'],
    ['linux/x86_64', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/x86-64', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/amd64/v1', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/amd64/v3', { os: 'linux', architecture: 'amd64', variant: 'v3' }, 'linux/amd64/v3'],
    ['linux/i386', { os: 'linux', architecture: '386' }, 'linux/386'],
    ['linux/arm', { os: 'linux', architecture: 'arm' }, 'linux/arm'],
    ['linux/arm/v7', { os: 'linux', architecture: 'arm', variant: 'v7' }, 'linux/arm/v7'],
    ['linux/arm/7', { os: 'linux', architecture: 'arm', variant: 'v7' }, 'linux/arm/v7'],
    ['linux/arm/6', { os: 'linux', architecture: 'arm', variant: 'v6' }, 'linux/arm/v6'],
    ['linux/armhf', { os: 'linux', architecture: 'arm' }, 'linux/arm'],
    ['linux/armel', { os: 'linux', architecture: 'arm', variant: 'v6' }, 'linux/arm/v6'],
    ['LINUX/AMD64', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/ppc64le', { os: 'linux', architecture: 'ppc64le' }, 'linux/ppc64le'],
    ['macOS/arm64', { os: 'darwin', architecture: 'arm64' }, 'darwin/arm64'],
    ['windows(10.0.17763)/amd64', { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763' }, 'windows(10.0.17763)/amd64'],
    ['windows(10.0.17763+win32k)/amd64', { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763', 'os.features': ['win32k'] }, 'windows(10.0.17763+win32k)/amd64'],
    // Single components take the rest from the defaults (containerd: from the host).
    ['linux', { os: 'linux', architecture: 's390x' }, 'linux/s390x'],
    ['arm64', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    ['aarch64', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    ['armhf', { os: 'linux', architecture: 'arm' }, 'linux/arm'],
    ['armel', { os: 'linux', architecture: 'arm', variant: 'v6' }, 'linux/arm/v6'],
    ['amd64', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
  ];
  for (const [input, expected, formatted] of cases) {
    void it(`parses ${input}`, () => {
      const parsed = parsePlatform(input, { os: 'linux', architecture: 's390x' });
      assert.deepEqual(parsed, expected);
      assert.equal(formatPlatform(parsed), formatted);
    });
  }

  const junk: [string, RegExp][] = [
    ['', /not a valid OS/],
    ['*', /wildcards/],
    ['linux/*', /wildcards/],
    ['linux/&*!', /wildcards/],
    ['linux/am d64', /not a valid component/],
    ['linux/', /not a valid component/],
    ['/amd64', /not a valid OS/],
    ['linux/arm64/v8/extra', /<os>\/<arch>/],
    ['notanos', /unknown operating system or architecture/],
    ['windows(10.0/amd64', /not a valid OS/],
    ['linux(%zz)/amd64', /bad escape/],
  ];
  for (const [input, reason] of junk) {
    void it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parsePlatform(input),
        (err: unknown) => err instanceof InvalidPlatformError && err.code === 'INVALID_PLATFORM' && reason.test(err.message) && !err.message.includes('\n'),
      );
    });
  }
});

void describe('normalizePlatform and formatPlatform', () => {
  void it('follows platforms.Normalize', () => {
    assert.deepEqual(normalizePlatform({ os: 'Linux', architecture: 'aarch64', variant: 'v8' }), { os: 'linux', architecture: 'arm64' });
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'arm64', variant: '8' }), { os: 'linux', architecture: 'arm64' });
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'arm64', variant: 'v8.2' }), { os: 'linux', architecture: 'arm64', variant: 'v8.2' });
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'x86_64' }), AMD64);
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'amd64', variant: 'v1' }), AMD64);
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'armhf' }), { os: 'linux', architecture: 'arm', variant: 'v7' });
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'arm' }), { os: 'linux', architecture: 'arm', variant: 'v7' });
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'arm', variant: '5' }), { os: 'linux', architecture: 'arm', variant: 'v5' });
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'i386', variant: 'x' }), { os: 'linux', architecture: '386' });
    assert.deepEqual(normalizePlatform({ os: 'macos', architecture: 'arm64' }), { os: 'darwin', architecture: 'arm64' });
    assert.deepEqual(
      normalizePlatform({ os: 'windows', architecture: 'amd64', 'os.features': ['b', 'a', 'b'] }),
      { os: 'windows', architecture: 'amd64', 'os.features': ['a', 'b'] },
    );
  });

  void it('formats like platforms.FormatAll', () => {
    assert.equal(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7');
    assert.equal(formatPlatform({ os: '', architecture: 'amd64' }), 'unknown');
    assert.equal(formatPlatform({ os: 'windows', architecture: 'amd64', 'os.version': '10.0/1', 'os.features': ['z', 'a+b'] }), 'windows(10.0%2F1+a%2Bb+z)/amd64');
  });
});

void describe('hostPlatform', () => {
  void it('maps node architectures to Docker platforms, always linux', () => {
    assert.deepEqual(hostPlatform('x64', 'darwin'), AMD64);
    assert.deepEqual(hostPlatform('arm64', 'win32'), { os: 'linux', architecture: 'arm64' });
    assert.deepEqual(hostPlatform('arm', 'linux'), { os: 'linux', architecture: 'arm', variant: 'v7' });
    assert.deepEqual(hostPlatform('ia32', 'linux'), { os: 'linux', architecture: '386' });
    assert.deepEqual(hostPlatform('ppc64', 'linux'), { os: 'linux', architecture: 'ppc64le' });
    assert.deepEqual(hostPlatform('ppc64', 'aix'), { os: 'linux', architecture: 'ppc64' });
    assert.deepEqual(hostPlatform('s390x', 'linux'), { os: 'linux', architecture: 's390x' });
    assert.deepEqual(hostPlatform('riscv64', 'linux'), { os: 'linux', architecture: 'riscv64' });
    assert.equal(hostPlatform().os, 'linux');
  });
});

function entry(platform: Platform | undefined, n: number, annotations?: Record<string, string>): Descriptor {
  const d: Descriptor = { mediaType: OCI_IMAGE_MANIFEST, digest: digestOf(n), size: 100 + n };
  if (platform !== undefined) d.platform = platform;
  if (annotations !== undefined) d.annotations = annotations;
  return d;
}

function indexOf(...specifiers: string[]): ImageIndex {
  return { schemaVersion: 2, mediaType: OCI_IMAGE_INDEX, manifests: specifiers.map((s, i) => entry(parsePlatform(s), i)) };
}

void describe('selectManifest matching (compare_test.go TestOnly / TestOnlyStrict)', () => {
  const only: [string, string[], string[]][] = [
    ['linux/amd64', ['linux/amd64', 'linux/386'], ['linux/amd64/v2', 'linux/arm/v7', 'linux/arm64', 'windows/amd64', 'windows/arm']],
    ['linux/amd64/v2', ['linux/amd64', 'linux/amd64/v1', 'linux/amd64/v2', 'linux/386'], ['linux/amd64/v3', 'linux/amd64/v4', 'linux/arm/v7', 'linux/arm64', 'windows/amd64']],
    ['linux/386', ['linux/386'], ['linux/amd64', 'linux/arm/v7', 'linux/arm64']],
    ['windows/amd64', ['windows/amd64', 'windows(10.0.17763)/amd64'], ['linux/amd64', 'linux/arm/v7', 'linux/arm64', 'windows/arm']],
    ['linux/arm/v8', ['linux/arm', 'linux/arm/v5', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm/v8'], ['linux/amd64', 'linux/arm/v4', 'linux/arm64', 'windows/arm']],
    ['linux/arm/v7', ['linux/arm', 'linux/arm/v5', 'linux/arm/v6', 'linux/arm/v7'], ['linux/amd64', 'linux/arm/v4', 'linux/arm/v8', 'linux/arm64']],
    ['linux/arm/v6', ['linux/arm/v5', 'linux/arm/v6'], ['linux/amd64', 'linux/arm', 'linux/arm/v4', 'linux/arm/v7', 'linux/arm/v8', 'linux/arm64']],
    ['linux/arm/v5', ['linux/arm/v5'], ['linux/arm', 'linux/arm/v4', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm64']],
    ['linux/arm/v4', ['linux/arm/v4'], ['linux/arm', 'linux/arm/v5', 'linux/arm/v6']],
    ['linux/arm64/v9', ['linux/arm', 'linux/arm/v5', 'linux/arm/v7', 'linux/arm/v8', 'linux/arm64', 'linux/arm64/v8', 'linux/arm64/v8.1', 'linux/arm64/v8.5', 'linux/arm64/v9', 'linux/arm64/v9.0'], ['linux/amd64', 'linux/arm/v4', 'windows/arm', 'linux/arm64/v8.6']],
    ['linux/arm64/v8.1', ['linux/arm', 'linux/arm/v7', 'linux/arm/v8', 'linux/arm64', 'linux/arm64/v8', 'linux/arm64/v8.1'], ['linux/amd64', 'linux/arm/v4', 'linux/arm/v9', 'linux/arm64/v9']],
    ['linux/arm64', ['linux/arm', 'linux/arm/v5', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm/v8', 'linux/arm64', 'linux/arm64/v8'], ['linux/amd64', 'linux/arm/v4', 'linux/arm/v9', 'linux/arm64/v9', 'windows/arm']],
  ];
  const strict: [string, string[], string[]][] = [
    ['linux/amd64', ['linux/amd64'], ['linux/386', 'linux/arm/v7', 'linux/arm64', 'windows/amd64']],
    ['windows(10.0.17763)/amd64', ['windows/amd64', 'windows(10.0.17763)/amd64'], ['linux/amd64', 'windows/arm', 'windows(10.0.20348)/amd64']],
    ['linux/arm/v7', ['linux/arm', 'linux/arm/v7'], ['linux/arm/v5', 'linux/arm/v6', 'linux/arm/v8', 'linux/arm64']],
    ['linux/arm64/v9', ['linux/arm64/v9', 'linux/arm64/v9.0'], ['linux/arm', 'linux/arm/v8', 'linux/arm64/v8', 'linux/arm64/v8.1']],
    ['linux/arm64/v8.1', ['linux/arm64/v8.1'], ['linux/arm64/v8', 'linux/arm64/v9', 'linux/arm/v8']],
    ['linux/arm64', ['linux/arm64', 'linux/arm64/v8'], ['linux/arm', 'linux/arm/v7', 'linux/arm/v8', 'linux/arm64/v9', 'linux/amd64']],
  ];
  for (const [mode, table] of [['Only', only], ['OnlyStrict', strict]] as const) {
    for (const [wanted, yes, no] of table) {
      void it(`${mode}(${wanted})`, () => {
        const options = { strict: mode === 'OnlyStrict' };
        for (const candidate of yes) {
          assert.doesNotThrow(() => selectManifest(indexOf(candidate), parsePlatform(wanted), options), `${candidate} should match`);
        }
        for (const candidate of no) {
          assert.throws(() => selectManifest(indexOf(candidate), parsePlatform(wanted), options), PlatformNotFoundError, `${candidate} should not match`);
        }
      });
    }
  }

  void it('platformMatches is the strict matcher', () => {
    assert.equal(platformMatches({ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }), true);
    assert.equal(platformMatches({ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm', variant: 'v7' }), false);
    assert.equal(platformMatches({ os: 'windows', architecture: 'amd64', 'os.features': ['a'] }, { os: 'windows', architecture: 'amd64', 'os.features': ['a'] }), true);
    assert.equal(platformMatches({ os: 'windows', architecture: 'amd64' }, { os: 'windows', architecture: 'amd64', 'os.features': ['a'] }), false);
  });
});

void describe('selectManifest ordering', () => {
  const pick = (index: ImageIndex, wanted: string): string => selectManifest(index, parsePlatform(wanted)).digest;

  void it('prefers the best platform over index order', () => {
    assert.equal(pick(indexOf('linux/arm/v7', 'linux/arm64/v8', 'linux/amd64'), 'linux/arm64'), digestOf(1));
    assert.equal(pick(indexOf('linux/386', 'linux/amd64'), 'linux/amd64'), digestOf(1));
    assert.equal(pick(indexOf('linux/amd64', 'linux/amd64/v2', 'linux/amd64/v4'), 'linux/amd64/v3'), digestOf(1));
    assert.equal(pick(indexOf('linux/arm/v5', 'linux/arm/v6', 'linux/arm/v7'), 'linux/arm/v8'), digestOf(2));
    assert.equal(pick(indexOf('linux/arm/v6', 'linux/arm64/v8.1', 'linux/arm64'), 'linux/arm64/v8.2'), digestOf(1));
  });

  void it('breaks ties by index order and treats arm64 and arm64/v8 alike', () => {
    assert.equal(pick(indexOf('linux/arm64/v8', 'linux/arm64'), 'linux/arm64'), digestOf(0));
    assert.equal(pick(indexOf('linux/arm64', 'linux/arm64/v8'), 'linux/arm64/v8'), digestOf(0));
  });

  void it('falls back to compatible platforms unless strict', () => {
    const index = indexOf('linux/arm/v7', 'linux/386');
    assert.equal(pick(index, 'linux/arm64'), digestOf(0));
    assert.equal(pick(index, 'linux/amd64'), digestOf(1));
    assert.throws(() => selectManifest(index, parsePlatform('linux/arm64'), { strict: true }), PlatformNotFoundError);
  });

  void it('skips attestation manifests and entries without a platform', () => {
    const index: ImageIndex = {
      schemaVersion: 2,
      manifests: [
        entry(undefined, 9),
        entry({ os: 'unknown', architecture: 'unknown' }, 8, { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': digestOf(1) }),
        entry({ os: 'linux', architecture: 'amd64' }, 7, { 'vnd.docker.reference.type': 'attestation-manifest' }),
        entry(AMD64, 1),
        entry({ os: 'linux', architecture: 'arm', variant: 'v7' }, 2),
      ],
    };
    assert.equal(selectManifest(index, AMD64).digest, digestOf(1));
    assert.throws(
      () => selectManifest(index, parsePlatform('linux/s390x')),
      (err: unknown) => {
        assert.ok(err instanceof PlatformNotFoundError);
        assert.equal(err.code, 'PLATFORM_NOT_FOUND');
        assert.deepEqual(err.available, ['linux/amd64', 'linux/arm/v7']);
        assert.equal(err.message, 'no image for platform linux/s390x in the image index (available: linux/amd64, linux/arm/v7)');
        return true;
      },
    );
    assert.throws(() => selectManifest({ schemaVersion: 2, manifests: [] }, AMD64), /available: none/);
  });

  void it('matches Windows OS versions (platform_windows_compat.go)', () => {
    const index = indexOf('windows(10.0.17763.1234)/amd64', 'windows(10.0.20348.100)/amd64');
    assert.equal(pick(index, 'windows(10.0.17763)/amd64'), digestOf(0));
    assert.equal(pick(index, 'windows(10.0.26100)/amd64'), digestOf(1));
    assert.equal(pick(index, 'windows/amd64'), digestOf(0));
    assert.throws(() => pick(index, 'windows(10.0.19041)/amd64'), PlatformNotFoundError);
  });
});

void describe('media types', () => {
  void it('classifies media types', () => {
    assert.deepEqual([...MANIFEST_ACCEPT], [OCI_IMAGE_INDEX, DOCKER_MANIFEST_LIST_V2, OCI_IMAGE_MANIFEST, DOCKER_MANIFEST_V2]);
    assert.equal(MANIFEST_ACCEPT_HEADER, MANIFEST_ACCEPT.join(', '));
    assert.ok(isIndexMediaType(OCI_IMAGE_INDEX) && isIndexMediaType(DOCKER_MANIFEST_LIST_V2) && !isIndexMediaType(OCI_IMAGE_MANIFEST));
    assert.ok(isImageManifestMediaType(DOCKER_MANIFEST_V2) && !isImageManifestMediaType(undefined) && !isImageManifestMediaType(OCI_IMAGE_INDEX));
    for (const t of [OCI_LAYER_TAR_GZIP, OCI_LAYER_TAR_ZSTD, DOCKER_LAYER_TAR_GZIP, DOCKER_FOREIGN_LAYER_TAR_GZIP, OCI_LAYER_NONDISTRIBUTABLE_TAR_GZIP]) {
      assert.ok(isLayerMediaType(t), t);
    }
    assert.ok(!isLayerMediaType(OCI_IMAGE_CONFIG) && !isLayerMediaType(undefined));
    assert.ok(isForeignLayerMediaType(DOCKER_FOREIGN_LAYER_TAR_GZIP) && isForeignLayerMediaType(OCI_LAYER_NONDISTRIBUTABLE_TAR_GZIP));
    assert.ok(!isForeignLayerMediaType(DOCKER_LAYER_TAR_GZIP));
  });
});

const layer = (n: number, mediaType = OCI_LAYER_TAR_GZIP): Descriptor => ({ mediaType, digest: digestOf(n), size: n });
const image = (mediaType: string | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  schemaVersion: 2,
  ...(mediaType !== undefined ? { mediaType } : {}),
  config: { mediaType: mediaType === DOCKER_MANIFEST_V2 ? DOCKER_IMAGE_CONFIG : OCI_IMAGE_CONFIG, digest: digestOf(100), size: 1234 },
  layers: [layer(1), layer(2)],
  ...extra,
});
const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

void describe('parseManifest', () => {
  void it('parses image manifests and indexes', () => {
    const oci = parseManifest(bytes(image(OCI_IMAGE_MANIFEST, { annotations: { a: 'b' } })));
    assert.equal(oci.kind, 'image');
    assert.equal(oci.mediaType, OCI_IMAGE_MANIFEST);
    if (oci.kind === 'image') assert.equal(oci.manifest.layers.length, 2);
    const docker = parseManifest(JSON.stringify(image(DOCKER_MANIFEST_V2)));
    assert.deepEqual([docker.kind, docker.mediaType], ['image', DOCKER_MANIFEST_V2]);
    const list = parseManifest(bytes({ ...indexOf('linux/amd64', 'linux/arm64'), mediaType: DOCKER_MANIFEST_LIST_V2 }));
    assert.equal(list.kind, 'index');
    if (list.kind === 'index') assert.equal(list.index.manifests[1]?.platform?.architecture, 'arm64');
  });

  void it('takes the media type from the body, then the header, then the shape', () => {
    assert.equal(parseManifest(bytes(image(OCI_IMAGE_MANIFEST)), DOCKER_MANIFEST_V2).mediaType, OCI_IMAGE_MANIFEST);
    assert.equal(parseManifest(bytes(image(undefined)), `${DOCKER_MANIFEST_V2}; charset=utf-8`).mediaType, DOCKER_MANIFEST_V2);
    assert.equal(parseManifest(bytes(image(undefined)), 'application/json').mediaType, OCI_IMAGE_MANIFEST);
    const { mediaType: _drop, ...bare } = indexOf('linux/amd64');
    const parsed = parseManifest(bytes(bare));
    assert.deepEqual([parsed.kind, parsed.mediaType], ['index', OCI_IMAGE_INDEX]);
  });

  const invalid: [string, Uint8Array | string, RegExp, string?][] = [
    ['non-JSON', 'nope', /not valid UTF-8 JSON/],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), /not valid UTF-8 JSON/],
    ['an array', '[]', /not a JSON object/],
    ['schema 1 by version', JSON.stringify({ schemaVersion: 1, name: 'x', fsLayers: [] }), /schema 1 is deprecated/],
    ['schema 1 by header', JSON.stringify({ schemaVersion: 2 }), /schema 1/, 'application/vnd.docker.distribution.manifest.v1+prettyjws'],
    ['schemaVersion 3', bytes(image(OCI_IMAGE_MANIFEST, { schemaVersion: 3 })), /schemaVersion must be 2, got 3/],
    ['no schemaVersion', bytes({ mediaType: OCI_IMAGE_MANIFEST }), /schemaVersion must be 2, got none/],
    ['unknown shape', bytes({ schemaVersion: 2 }), /neither "manifests" nor "config"\/"layers"/],
    ['unknown media type', bytes(image('application/vnd.oci.artifact.manifest.v1+json')), /unsupported manifest media type/],
    ['empty mediaType', bytes(image('')), /mediaType must be a non-empty string/],
    ['missing config', bytes(image(OCI_IMAGE_MANIFEST, { config: undefined })), /config is not a descriptor/],
    ['missing layers', bytes(image(OCI_IMAGE_MANIFEST, { layers: undefined })), /no "layers" array/],
    ['bad layer digest', bytes(image(OCI_IMAGE_MANIFEST, { layers: [{ ...layer(1), digest: 'sha256:abc' }] })), /layers\[0\]\.digest "sha256:abc" is invalid/],
    ['negative size', bytes(image(OCI_IMAGE_MANIFEST, { layers: [layer(1), { ...layer(2), size: -1 }] })), /layers\[1\]\.size/],
    ['fractional size', bytes(image(OCI_IMAGE_MANIFEST, { layers: [{ ...layer(2), size: 1.5 }] })), /layers\[0\]\.size/],
    ['bad layer mediaType', bytes(image(OCI_IMAGE_MANIFEST, { layers: [{ ...layer(2), mediaType: 'gzip' }] })), /layers\[0\]\.mediaType/],
    ['bad urls', bytes(image(OCI_IMAGE_MANIFEST, { layers: [{ ...layer(2), urls: 'http://x' }] })), /urls must be an array/],
    ['bad annotations', bytes(image(OCI_IMAGE_MANIFEST, { annotations: { a: 1 } })), /annotations must map strings/],
    ['bad subject', bytes(image(OCI_IMAGE_MANIFEST, { subject: { mediaType: OCI_IMAGE_MANIFEST } })), /subject\.digest is missing/],
    ['manifests in an image', bytes(image(OCI_IMAGE_MANIFEST, { manifests: [] })), /must not contain "manifests"/],
    ['layers in an index', bytes({ ...indexOf('linux/amd64'), layers: [] }), /must not contain "config" or "layers"/],
    ['index without manifests', bytes({ schemaVersion: 2, mediaType: OCI_IMAGE_INDEX }), /no "manifests" array/],
    ['bad platform', bytes({ schemaVersion: 2, mediaType: OCI_IMAGE_INDEX, manifests: [{ ...layer(1), platform: { os: 'linux' } }] }), /manifests\[0\]\.platform needs string "os" and "architecture"/],
    ['bad os.features', bytes({ schemaVersion: 2, mediaType: OCI_IMAGE_INDEX, manifests: [{ ...layer(1), platform: { ...AMD64, 'os.features': 'x' } }] }), /os\.features must be an array/],
  ];
  for (const [name, body, reason, header] of invalid) {
    void it(`rejects ${name}`, () => {
      assert.throws(
        () => parseManifest(body, header),
        (err: unknown) => {
          assert.ok(err instanceof ManifestInvalidError);
          assert.equal(err.code, 'MANIFEST_INVALID');
          assert.match(err.message, reason);
          assert.ok(!err.message.includes('\n'));
          return true;
        },
      );
    });
  }
});
