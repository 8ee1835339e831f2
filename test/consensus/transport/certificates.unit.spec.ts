import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { certificateFingerprint, makeGuardianCertificate } from '../../../src/consensus/transport/certificates.ts';
import { normalizeFingerprint } from '../../../src/consensus/transport/fingerprints.ts';

describe('a guardian certificate', () => {
  it('is a self-signed ECDSA P-256 certificate naming the guardian, for localhost and loopback', async () => {
    const { certPem, keyPem } = await makeGuardianCertificate(2);
    const certificate = new X509Certificate(certPem);

    expect(certificate.subject).toBe('CN=fedlog-guardian-2');
    expect(certificate.issuer).toBe(certificate.subject);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(certificate.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(certificate.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(certificate.ca).toBe(false);
    expect(certificate.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
  });

  it('stays valid for a long time (a federation re-keys by a new config, not by expiry)', async () => {
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const certificate = new X509Certificate((await makeGuardianCertificate(0, { notBefore })).certPem);
    expect(new Date(certificate.validFrom).getTime()).toBe(notBefore.getTime());
    expect(new Date(certificate.validTo).getUTCFullYear()).toBe(2126);
  });

  it('names extra hosts when asked', async () => {
    const certificate = new X509Certificate((await makeGuardianCertificate(1, { dnsNames: ['guardian-1.example'], ipAddresses: ['10.0.0.2'] })).certPem);
    expect(certificate.subjectAltName).toContain('DNS:guardian-1.example');
    expect(certificate.subjectAltName).toContain('IP Address:10.0.0.2');
  });

  it('is pinned by sha256 over its DER, the same digest Node reports for a peer', async () => {
    const made = await makeGuardianCertificate(0);
    const certificate = new X509Certificate(made.certPem);

    expect(made.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(certificateFingerprint(made.certPem)).toBe(made.fingerprint);
    expect(normalizeFingerprint(certificate.fingerprint256)).toBe(made.fingerprint);
  });

  it('is new every time: two guardians never share a key', async () => {
    const [a, b] = await Promise.all([makeGuardianCertificate(0), makeGuardianCertificate(0)]);
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(a.keyPem).not.toBe(b.keyPem);
  });
});
