/**
 * A guardian's TLS identity: an ECDSA P-256 key pair and a self-signed X.509 certificate, made by
 * `fedlog init`. Nobody signs these certificates for us: every config pins every member's
 * certificate by its SHA-256 fingerprint, and that pin is the whole of the trust.
 */
// tsyringe (inside @peculiar/x509) needs the Reflect metadata API before the library loads.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { derFingerprint } from './fingerprints.ts';

export { certificateFingerprint } from './fingerprints.ts';

export interface GuardianCertificate {
  /** The self-signed certificate, PEM. Public: its fingerprint goes into every member's config. */
  certPem: string;
  /** The private key, PKCS#8 PEM. Secret: written 0600 beside the guardian's config. */
  keyPem: string;
  /** Lowercase hex of sha256 over the certificate's DER. */
  fingerprint: string;
}

export interface GuardianCertificateOptions {
  /** When the certificate starts to be valid (default: now). */
  notBefore?: Date;
  /** How long it stays valid (default 100 years: a federation re-keys by a new config, not by expiry). */
  validityDays?: number;
  /** Extra DNS names for the subject alternative names, beside `localhost`. */
  dnsNames?: readonly string[];
  /** Extra IP addresses for the subject alternative names, beside 127.0.0.1 and ::1. */
  ipAddresses?: readonly string[];
}

const ecdsaP256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const dayMs = 86_400_000;

/** Makes guardian `peer`'s key pair and self-signed certificate (CN=fedlog-guardian-<peer>). */
export async function makeGuardianCertificate(peer: number, options: GuardianCertificateOptions = {}): Promise<GuardianCertificate> {
  // The library's own `Crypto` type is the DOM's; Node's webcrypto is that interface.
  const crypto = webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1];
  const keys = await webcrypto.subtle.generateKey(ecdsaP256, true, ['sign', 'verify']);
  const notBefore = options.notBefore ?? new Date();
  const notAfter = new Date(notBefore.getTime() + (options.validityDays ?? 36_525) * dayMs);
  const names: x509.JsonGeneralName[] = [
    ...['localhost', ...(options.dnsNames ?? [])].map((value) => ({ type: 'dns' as const, value })),
    ...['127.0.0.1', '::1', ...(options.ipAddresses ?? [])].map((value) => ({ type: 'ip' as const, value })),
  ];
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: `CN=fedlog-guardian-${peer}`,
      keys,
      notBefore,
      notAfter,
      signingAlgorithm: ecdsaP256,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension(names),
      ],
    },
    crypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    certPem: certificate.toString('pem'),
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
    fingerprint: derFingerprint(new Uint8Array(certificate.rawData)),
  };
}
