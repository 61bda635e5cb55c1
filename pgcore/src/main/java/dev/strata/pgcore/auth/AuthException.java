package dev.strata.pgcore.auth;

/**
 * A caller was refused. The message is safe to send back to the caller: it says what was
 * wrong with the token, never anything about the key.
 */
public final class AuthException extends Exception {

    /** Why; listeners map {@link #MISSING}..{@link #EXPIRED} to 401 and the rest to 403. */
    public enum Reason {
        /** No token at all. */
        MISSING,
        /** Not a compact JWS, not JSON, claims of the wrong type, too long. */
        MALFORMED,
        /** Signed with another algorithm than EdDSA (or not signed: {@code alg: none}). */
        UNSUPPORTED_ALGORITHM,
        /** The signature does not verify under any key this listener trusts. */
        BAD_SIGNATURE,
        /** Past its {@code exp}, or not yet valid ({@code nbf}). */
        EXPIRED,
        /** A valid token, but its scope is not one this listener accepts. */
        WRONG_SCOPE,
        /** A valid compute token for another timeline. */
        WRONG_TIMELINE;

        /** True when the caller is not authenticated at all (HTTP 401); else it is forbidden (403). */
        public boolean unauthenticated() {
            return ordinal() <= EXPIRED.ordinal();
        }
    }

    private final Reason reason;

    public AuthException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
