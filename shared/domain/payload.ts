/**
 * How big an answer may be. A synchronous Lambda invocation's response is at
 * most 6 MB (AWS Lambda Developer Guide, "Lambda quotas": invocation payload,
 * 6 MB each for request and response, synchronous); an HTTP API function's
 * response is a JSON document whose `body` is a JSON string, so what counts
 * is the body's UTF-8 bytes after JSON escaping. Browser-safe (no Buffer).
 */

/** The most a response body may cost (`responseBytes`): 5 MiB, leaving room under 6 MB for headers and the envelope. */
export const RESPONSE_BODY_BUDGET_BYTES = 5 * 1024 * 1024;

const encoder = new TextEncoder();

/**
 * What `text` costs inside a Lambda response: the UTF-8 length of
 * `JSON.stringify(text)` without its two quotes (a `"` or a newline costs 2
 * bytes, a control character up to 6, a lone surrogate 6).
 */
export function responseBytes(text: string): number {
  return encoder.encode(JSON.stringify(text)).length - 2;
}
