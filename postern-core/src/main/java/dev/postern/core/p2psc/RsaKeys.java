package dev.postern.core.p2psc;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.RSAPublicKeySpec;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Cipher;

/**
 * p2psc's identities: RSA public keys written as PKCS#1 PEM ("BEGIN RSA PUBLIC KEY", as OpenSSL's
 * {@code PEM_write_bio_RSAPublicKey}), and its challenges, encrypted with PKCS#1 v1.5 padding and
 * sent in standard base64.
 */
public final class RsaKeys {

    private static final String BEGIN = "-----BEGIN RSA PUBLIC KEY-----";
    private static final String END = "-----END RSA PUBLIC KEY-----";
    /** Keys this size and up only: smaller ones are weak, and p2psc's default is 2048. */
    static final int MIN_BITS = 2048;
    static final int MAX_BITS = 8192;
    /** The public exponents keys may have: what key generators use. A large one makes each challenge cost many times more. */
    private static final java.util.Set<BigInteger> EXPONENTS = java.util.Set.of(BigInteger.valueOf(3), BigInteger.valueOf(65537));

    private RsaKeys() {}

    public static String toPem(RSAPublicKey key) {
        byte[] der = sequence(integer(key.getModulus()), integer(key.getPublicExponent()));
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return BEGIN + "\n" + body + "\n" + END + "\n";
    }

    /** The key in a PKCS#1 PEM text; a typed error for anything else. */
    public static Decoded<RSAPublicKey> fromPem(String pem) {
        String t = pem.strip();
        if (!t.startsWith(BEGIN) || !t.endsWith(END) || t.length() > P2pscCodec.MAX_MESSAGE) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(t.substring(BEGIN.length(), t.length() - END.length()).strip());
        } catch (IllegalArgumentException e) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        // SEQUENCE { INTEGER modulus, INTEGER publicExponent }
        Der outer = new Der(der, 0);
        if (outer.tag != 0x30 || outer.end != der.length) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        Der n = new Der(der, outer.start);
        Der e = n.tag == 0x02 ? new Der(der, n.end) : null;
        if (e == null || e.tag != 0x02 || e.end != outer.end || n.invalid || e.invalid) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        BigInteger modulus = new BigInteger(1, java.util.Arrays.copyOfRange(der, n.start, n.end));
        BigInteger exponent = new BigInteger(1, java.util.Arrays.copyOfRange(der, e.start, e.end));
        if (modulus.bitLength() < MIN_BITS || modulus.bitLength() > MAX_BITS || !EXPONENTS.contains(exponent)) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        try {
            return Decoded.ok((RSAPublicKey) KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(modulus, exponent)));
        } catch (GeneralSecurityException ex) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
    }

    public static String encrypt(RSAPublicKey key, String plain) {
        try {
            Cipher c = Cipher.getInstance("RSA/ECB/PKCS1Padding");
            c.init(Cipher.ENCRYPT_MODE, key);
            return Base64.getEncoder().encodeToString(c.doFinal(plain.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("RSA encryption failed", e);
        }
    }

    /** The plaintext, or empty if it is not a ciphertext for this key. */
    public static Optional<String> decrypt(PrivateKey key, String base64) {
        try {
            Cipher c = Cipher.getInstance("RSA/ECB/PKCS1Padding");
            c.init(Cipher.DECRYPT_MODE, key);
            return Optional.of(new String(c.doFinal(Base64.getDecoder().decode(base64)), StandardCharsets.UTF_8));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** One DER element's tag and where its contents lie; {@code invalid} for a length the input cannot hold. */
    private static final class Der {
        final int tag;
        final int start;
        final int end;
        final boolean invalid;

        Der(byte[] b, int at) {
            int tagValue = -1;
            int s = 0;
            int e = 0;
            boolean bad = true;
            if (at + 2 <= b.length) {
                tagValue = b[at] & 0xff;
                int len = b[at + 1] & 0xff;
                int p = at + 2;
                if (len >= 0x80) {
                    int count = len & 0x7f;
                    len = 0;
                    if (count >= 1 && count <= 3 && p + count <= b.length) {
                        for (int i = 0; i < count; i++) {
                            len = (len << 8) | (b[p++] & 0xff);
                        }
                    } else {
                        len = -1;
                    }
                }
                if (len >= 0 && p + len <= b.length) {
                    s = p;
                    e = p + len;
                    bad = false;
                }
            }
            this.tag = bad ? -1 : tagValue;
            this.start = s;
            this.end = e;
            this.invalid = bad;
        }
    }

    private static byte[] integer(BigInteger v) {
        return element(0x02, v.toByteArray());
    }

    private static byte[] sequence(byte[]... parts) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            body.writeBytes(p);
        }
        return element(0x30, body.toByteArray());
    }

    private static byte[] element(int tag, byte[] contents) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        int len = contents.length;
        if (len < 0x80) {
            out.write(len);
        } else if (len < 0x100) {
            out.write(0x81);
            out.write(len);
        } else {
            out.write(0x82);
            out.write(len >> 8);
            out.write(len & 0xff);
        }
        out.writeBytes(contents);
        return out.toByteArray();
    }
}
