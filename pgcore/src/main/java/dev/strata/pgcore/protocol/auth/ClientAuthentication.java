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
 * {@link #isAuthenticated()}. Speaks cleartext, MD5 and SCRAM-SHA-256; once SCRAM has
 * started, an AuthenticationOk before the server proved its signature is refused.
 */
public final class ClientAuthentication {

    private final String user;
    private final String password;
    private ScramSha256 scram;
    private boolean serverVerified;
    private boolean authenticated;

    public ClientAuthentication(String user, String password) {
        this.user = Objects.requireNonNull(user, "user is null");
        this.password = Objects.requireNonNull(password, "password is null");
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
            case BackendMessage.AuthenticationCleartextPassword m ->
                    Optional.of(new FrontendMessage.PasswordMessage(password));
            case BackendMessage.AuthenticationMD5Password m ->
                    Optional.of(new FrontendMessage.PasswordMessage(Md5Password.answer(user, password, m.salt())));
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
