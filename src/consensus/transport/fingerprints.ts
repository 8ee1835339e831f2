/**
 * Certificate pins: lowercase hex of sha256 over a certificate's DER. Apart from certificates.ts so
 * that reading a pin (the transport, config checks) never loads the X.509 builder, a few hundred ms.
 */
import { X509Certificate, createHash } from 'node:crypto';

/** The pin of a certificate given as PEM. */
export function certificateFingerprint(certPem: string): string {
  return derFingerprint(new X509Certificate(certPem).raw);
}

/** The pin of a certificate given as DER (what `TLSSocket.getPeerCertificate().raw` holds). */
export function derFingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** Fingerprints are compared in this form: config files may write them in upper case or with colons. */
export function normalizeFingerprint(text: string): string {
  return text.replace(/:/g, '').toLowerCase();
}
