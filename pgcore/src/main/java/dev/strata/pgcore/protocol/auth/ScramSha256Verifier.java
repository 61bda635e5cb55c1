package dev.strata.pgcore.protocol.auth;

import dev.strata.pgcore.protocol.ProtocolException;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;

/**
 * The server side of one SCRAM-SHA-256 exchange, for a Strata endpoint that authenticates
 * clients itself: {@link #serverFirstMessage(String)} for the client-first message, then
 * {@link #serverFinalMessage(String)} checks the proof. It holds only the stored and server
 * keys, as {@code pg_authid} does; one instance per authentication attempt.
 */
public final class ScramSha256Verifier {

    private final byte[] salt;
    private final int iterations;
    private final byte[] storedKey;
    private final byte[] serverKey;
    private final String serverNonce;
    private String clientFirstBare;
    private String serverFirst;
    private String nonce;

    public ScramSha256Verifier(byte[] salt, int iterations, byte[] storedKey, byte[] serverKey, String serverNonce) {
        this.salt = salt.clone();
        this.iterations = iterations;
        this.storedKey = storedKey.clone();
        this.serverKey = serverKey.clone();
        this.serverNonce = Objects.requireNonNull(serverNonce, "serverNonce is null");
    }

    /** Derives the keys from a cleartext password with a fresh salt, as CREATE ROLE ... PASSWORD does. */
    public static ScramSha256Verifier forPassword(String password, int iterations) {
        byte[] salt = new byte[16];
        new SecureRandom().nextBytes(salt);
        byte[] salted = Scram.hi(Scram.normalize(password), salt, iterations);
        return new ScramSha256Verifier(salt, iterations, Scram.sha256(Scram.hmac(salted, "Client Key")),
                Scram.hmac(salted, "Server Key"), ScramSha256.randomNonce());
    }

    /** Answers the SASLInitialResponse data with the server-first message. */
    public String serverFirstMessage(String clientFirst) {
        if (!clientFirst.startsWith("n,,")) {
            throw new ProtocolException("SCRAM client-first message: only gs2 header 'n,,' (no channel binding) is supported");
        }
        clientFirstBare = clientFirst.substring(3);
        String clientNonce = Scram.require(Scram.attributes(clientFirstBare, "client-first message"), 'r',
                "client-first message");
        nonce = clientNonce + serverNonce;
        serverFirst = "r=" + nonce + ",s=" + Base64.getEncoder().encodeToString(salt) + ",i=" + iterations;
        return serverFirst;
    }

    /** Checks the client's proof; returns the server-final message, or throws if the proof is wrong. */
    public String serverFinalMessage(String clientFinal) {
        if (serverFirst == null) {
            throw new IllegalStateException("serverFirstMessage was not called");
        }
        int p = clientFinal.lastIndexOf(",p=");
        if (p < 0) {
            throw new ProtocolException("malformed SCRAM client-final message: no proof");
        }
        String withoutProof = clientFinal.substring(0, p);
        Map<Character, String> attrs = Scram.attributes(withoutProof, "client-final message");
        String binding = Base64.getEncoder().encodeToString("n,,".getBytes(StandardCharsets.US_ASCII));
        if (!binding.equals(attrs.get('c')) || !nonce.equals(attrs.get('r'))) {
            throw new ProtocolException("SCRAM client-final message: channel binding or nonce does not match");
        }
        byte[] proof;
        try {
            proof = Base64.getDecoder().decode(clientFinal.substring(p + 3));
        } catch (IllegalArgumentException e) {
            throw new ProtocolException("malformed SCRAM client-final message: proof is not base64");
        }
        String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
        byte[] clientSignature = Scram.hmac(storedKey, authMessage);
        if (proof.length != clientSignature.length
                || !MessageDigest.isEqual(Scram.sha256(Scram.xor(proof, clientSignature)), storedKey)) {
            throw new ProtocolException(Scram.AUTH_FAILED, "SCRAM authentication failed: wrong password");
        }
        return "v=" + Base64.getEncoder().encodeToString(Scram.hmac(serverKey, authMessage));
    }
}
