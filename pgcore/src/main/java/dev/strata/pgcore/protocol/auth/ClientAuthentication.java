package dev.strata.pgcore.protocol.auth;

import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.protocol.FrontendMessage;
import dev.strata.pgcore.protocol.ProtocolException;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;

/**
 * The client's side of PostgreSQL authentication as a pure state machine: feed it each
 * Authentication* request the server sends and write back what it returns, until
 * {@link #isAuthenticated()}. Speaks SCRAM-SHA-256, and cleartext and MD5 only when its
 * {@link PasswordPolicy} allows them (otherwise such a request is refused with SQLSTATE 28000
 * and nothing is sent: the password must not reach whoever asks). Once SCRAM has started, an
 * AuthenticationOk before the server proved its signature is refused.
 */
public final class ClientAuthentication {

    private final String user;
    private final String password;
    private final PasswordPolicy policy;
    private ScramSha256 scram;
    private boolean serverVerified;
    private boolean authenticated;

    /** Answers SCRAM-SHA-256 only ({@link PasswordPolicy#SCRAM_ONLY}). */
    public ClientAuthentication(String user, String password) {
        this(user, password, PasswordPolicy.SCRAM_ONLY);
    }

    public ClientAuthentication(String user, String password, PasswordPolicy policy) {
        this.user = Objects.requireNonNull(user, "user is null");
        this.password = Objects.requireNonNull(password, "password is null");
        this.policy = Objects.requireNonNull(policy, "policy is null");
    }

    public boolean isAuthenticated() {
        return authenticated;
    }

    /** The message to send in answer to {@code request}, if any. */
    public Optional<FrontendMessage> reply(BackendMessage.Authentication request) {
        if (authenticated) {
            throw new ProtocolException("authentication request " + request + " after AuthenticationOk");
        }
        return switch (request) {
            case BackendMessage.AuthenticationOk m -> {
                if (scram != null && !serverVerified) {
                    throw new ProtocolException(Scram.AUTH_FAILED,
                            "server sent AuthenticationOk without completing SCRAM-SHA-256");
                }
                authenticated = true;
                yield Optional.empty();
            }
            case BackendMessage.AuthenticationCleartextPassword m -> {
                requirePlaintextAllowed("a cleartext password");
                yield Optional.of(new FrontendMessage.PasswordMessage(password));
            }
            case BackendMessage.AuthenticationMD5Password m -> {
                requirePlaintextAllowed("an MD5 password");
                yield Optional.of(new FrontendMessage.PasswordMessage(Md5Password.answer(user, password, m.salt())));
            }
            case BackendMessage.AuthenticationSASL m -> {
                if (!m.mechanisms().contains(ScramSha256.MECHANISM)) {
                    throw new ProtocolException(ProtocolException.FEATURE_NOT_SUPPORTED,
                            "server offers SASL mechanisms " + m.mechanisms() + ", none of them " + ScramSha256.MECHANISM);
                }
                scram = new ScramSha256(password);
                yield Optional.of(new FrontendMessage.SASLInitialResponse(ScramSha256.MECHANISM,
                        scram.clientFirstMessage().getBytes(StandardCharsets.UTF_8)));
            }
            case BackendMessage.AuthenticationSASLContinue m -> Optional.of(new FrontendMessage.SASLResponse(
                    requireScram().clientFinalMessage(text(m.data())).getBytes(StandardCharsets.UTF_8)));
            case BackendMessage.AuthenticationSASLFinal m -> {
                requireScram().verifyServerFinal(text(m.data()));
                serverVerified = true;
                yield Optional.empty();
            }
        };
    }

    private void requirePlaintextAllowed(String what) {
        if (policy != PasswordPolicy.ALLOW_CLEARTEXT_AND_MD5) {
            throw new ProtocolException(Scram.AUTH_FAILED, "server asked user " + user + " for " + what
                    + "; refused: only SCRAM-SHA-256 is answered (PasswordPolicy." + policy
                    + "), so the password is not sent. Configure the server with scram-sha-256,"
                    + " or allow ALLOW_CLEARTEXT_AND_MD5 explicitly");
        }
    }

    private ScramSha256 requireScram() {
        if (scram == null) {
            throw new ProtocolException("SASL continuation without a SASL exchange");
        }
        return scram;
    }

    private static String text(byte[] data) {
        return new String(data, StandardCharsets.UTF_8);
    }
}
