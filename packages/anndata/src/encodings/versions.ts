import { elemUrl, type Elem, type IOSpec } from "../elem.js";
import { UnsupportedEncodingError } from "../errors.js";

/**
 * The `encoding-version`s zask reads for each `encoding-type` of the on-disk spec (anndata's
 * registry keys readers by both, so a version it does not know is refused, not guessed at).
 */
const KNOWN_VERSIONS: Readonly<Record<string, readonly string[]>> = {
  anndata: ["0.1.0"],
  raw: ["0.1.0"],
  dict: ["0.1.0"],
  dataframe: ["0.1.0", "0.2.0"],
  categorical: ["0.2.0"],
  "nullable-integer": ["0.1.0"],
  "nullable-boolean": ["0.1.0"],
  "nullable-string-array": ["0.1.0"],
  csr_matrix: ["0.1.0"],
  csc_matrix: ["0.1.0"],
  array: ["0.2.0"],
  "string-array": ["0.2.0"],
  "numeric-scalar": ["0.2.0"],
  string: ["0.2.0"],
  bytes: ["0.2.0"],
  "awkward-array": ["0.1.0"],
};

/**
 * Whether zask knows `spec`'s version of a known encoding type. Unknown types are left to the
 * caller (a readDispatched callback may read them); elements without attributes (stores older
 * than anndata 0.8, version "") are read as what they look like.
 */
export function isKnownVersion(spec: IOSpec): boolean {
  const versions = KNOWN_VERSIONS[spec.encodingType];
  return versions === undefined || spec.encodingVersion === "" || versions.includes(spec.encodingVersion);
}

/** Throw an {@link UnsupportedEncodingError} when `elem`'s encoding version is unknown (see {@link isKnownVersion}). */
export function assertKnownVersion(elem: Elem, spec: IOSpec): void {
  if (isKnownVersion(spec)) return;
  throw new UnsupportedEncodingError(elem.path, elemUrl(elem), spec.encodingType, spec.encodingVersion, KNOWN_VERSIONS[spec.encodingType]);
}
