package dev.strata.pgcore.protocol.auth;

import dev.strata.pgcore.protocol.ProtocolException;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;

/**
 * The client side of one SCRAM-SHA-256 exchange (RFC 5802/7677) without channel binding,
 * as PostgreSQL runs it inside AuthenticationSASL*: {@link #clientFirstMessage()},
 * then {@link #clientFinalMessage(String)} for the server-first message, then
 * {@link #verifyServerFinal(String)}. Our own clients (safekeepers connecting to a
 * compute) use it; one instance per authentication attempt.
 */
public final class ScramSha256 {

    /** The SASL mechanism name. */
    public static final String MECHANISM = "SCRAM-SHA-256";
    /** A server asking for more makes the client burn CPU for nothing; PostgreSQL's default is 4096. */
    public static final int MAX_ITERATIONS = 10_000_000;
    private static final String GS2_HEADER = "n,,";

    private enum Step { INITIAL, CLIENT_FIRST_SENT, CLIENT_FINAL_SENT, DONE }

    private final byte[] password;
    private final String clientFirstBare;
    private final String clientNonce;
    private Step step = Step.INITIAL;
    private byte[] expectedServerSignature;

    /** PostgreSQL ignores the SCRAM user name (it takes the startup packet's), so it is empty. */
    public ScramSha256(String password) {
        this("", password, randomNonce());
    }

    /** With an explicit user name and nonce: for tests against RFC vectors. */
    public ScramSha256(String user, String password, String clientNonce) {
        Objects.requireNonNull(user, "user is null");
        this.password = Scram.normalize(Objects.requireNonNull(password, "password is null"));
        this.clientNonce = Objects.requireNonNull(clientNonce, "clientNonce is null");
        if (clientNonce.isEmpty() || clientNonce.indexOf(',') >= 0) {
            throw new IllegalArgumentException("nonce must be non-empty and without ','");
        }
        this.clientFirstBare = "n=" + Scram.escapeName(user) + ",r=" + clientNonce;
    }

    /** The SASLInitialResponse data. */
    public String clientFirstMessage() {
        advance(Step.INITIAL, Step.CLIENT_FIRST_SENT);
        return GS2_HEADER + clientFirstBare;
    }

    /** Checks the server-first message and returns the SASLResponse data with the proof. */
    public String clientFinalMessage(String serverFirst) {
        advance(Step.CLIENT_FIRST_SENT, Step.CLIENT_FINAL_SENT);
        Map<Character, String> attrs = Scram.attributes(serverFirst, "server-first message");
        if (attrs.containsKey('m')) {
            throw new ProtocolException("SCRAM server-first message has an unsupported mandatory extension");
        }
        String nonce = Scram.require(attrs, 'r', "server-first message");
        if (!nonce.startsWith(clientNonce) || nonce.length() == clientNonce.length()) {
            throw new ProtocolException(Scram.AUTH_FAILED, "SCRAM server nonce does not extend the client nonce");
        }
        byte[] salt;
        try {
            salt = Base64.getDecoder().decode(Scram.require(attrs, 's', "server-first message"));
        } catch (IllegalArgumentException e) {
            throw new ProtocolException("malformed SCRAM server-first message: salt is not base64");
        }
        int iterations;
        try {
            iterations = Integer.parseInt(Scram.require(attrs, 'i', "server-first message"));
        } catch (NumberFormatException e) {
            throw new ProtocolException("malformed SCRAM server-first message: iteration count is not a number");
        }
        if (iterations < 1 || iterations > MAX_ITERATIONS) {
            throw new ProtocolException("SCRAM iteration count " + iterations + " outside 1 to MAX_ITERATIONS="
                    + MAX_ITERATIONS);
        }
        byte[] salted = Scram.hi(password, salt, iterations);
        byte[] clientKey = Scram.hmac(salted, "Client Key");
        byte[] storedKey = Scram.sha256(clientKey);
        String withoutProof = "c=" + Base64.getEncoder().encodeToString(GS2_HEADER.getBytes(StandardCharsets.US_ASCII))
                + ",r=" + nonce;
        String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
        byte[] proof = Scram.xor(clientKey, Scram.hmac(storedKey, authMessage));
        expectedServerSignature = Scram.hmac(Scram.hmac(salted, "Server Key"), authMessage);
        return withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof);
    }

    /** Checks the AuthenticationSASLFinal data: the server proves it knew the password too. */
    public void verifyServerFinal(String serverFinal) {
        advance(Step.CLIENT_FINAL_SENT, Step.DONE);
        Map<Character, String> attrs = Scram.attributes(serverFinal, "server-final message");
        if (attrs.containsKey('e')) {
            throw new ProtocolException(Scram.AUTH_FAILED, "SCRAM authentication failed: " + attrs.get('e'));
        }
        byte[] signature;
        try {
            signature = Base64.getDecoder().decode(Scram.require(attrs, 'v', "server-final message"));
        } catch (IllegalArgumentException e) {
            throw new ProtocolException("malformed SCRAM server-final message: signature is not base64");
        }
        if (!MessageDigest.isEqual(signature, expectedServerSignature)) {
            throw new ProtocolException(Scram.AUTH_FAILED, "SCRAM server signature does not match: "
                    + "the server does not know the password");
        }
    }

    private void advance(Step expected, Step next) {
        if (step != expected) {
            throw new IllegalStateException("SCRAM exchange is at " + step + ", not " + expected);
        }
        step = next;
    }

    static String randomNonce() {
        byte[] raw = new byte[18];
        new SecureRandom().nextBytes(raw);
        return Base64.getEncoder().encodeToString(raw);
    }
}
