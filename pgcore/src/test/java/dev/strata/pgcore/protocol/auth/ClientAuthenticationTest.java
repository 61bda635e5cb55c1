package dev.strata.pgcore.protocol.auth;

import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.protocol.FrontendMessage;
import dev.strata.pgcore.protocol.ProtocolException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClientAuthenticationTest {

    @Test
    void scramExchangeWithOurVerifierEndsAuthenticated() {
        ClientAuthentication auth = new ClientAuthentication("alice", "pw");
        ScramSha256Verifier verifier = ScramSha256Verifier.forPassword("pw", 4096);
        var initial = (FrontendMessage.SASLInitialResponse) auth.reply(
                new BackendMessage.AuthenticationSASL(List.of("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"))).orElseThrow();
        assertThat(initial.mechanism()).isEqualTo("SCRAM-SHA-256");
        String serverFirst = verifier.serverFirstMessage(new String(initial.data(), StandardCharsets.UTF_8));
        var response = (FrontendMessage.SASLResponse) auth.reply(
                new BackendMessage.AuthenticationSASLContinue(serverFirst.getBytes(StandardCharsets.UTF_8))).orElseThrow();
        String serverFinal = verifier.serverFinalMessage(new String(response.data(), StandardCharsets.UTF_8));
        assertThat(auth.reply(new BackendMessage.AuthenticationSASLFinal(serverFinal.getBytes(StandardCharsets.UTF_8))))
                .isEmpty();
        assertThat(auth.reply(BackendMessage.AuthenticationOk.INSTANCE)).isEmpty();
        assertThat(auth.isAuthenticated()).isTrue();
    }

    @Test
    void okBeforeTheServerProvedItselfIsRefused() {
        ClientAuthentication auth = new ClientAuthentication("alice", "pw");
        auth.reply(new BackendMessage.AuthenticationSASL(List.of("SCRAM-SHA-256")));
        assertThatThrownBy(() -> auth.reply(BackendMessage.AuthenticationOk.INSTANCE))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("without completing SCRAM-SHA-256");
        assertThat(auth.isAuthenticated()).isFalse();
    }

    @Test
    void unknownSaslMechanismsAreRefused() {
        ClientAuthentication auth = new ClientAuthentication("alice", "pw");
        assertThatThrownBy(() -> auth.reply(new BackendMessage.AuthenticationSASL(List.of("OAUTHBEARER"))))
                .isInstanceOfSatisfying(ProtocolException.class,
                        e -> assertThat(e.sqlState()).isEqualTo(ProtocolException.FEATURE_NOT_SUPPORTED));
    }

    @Test
    void cleartextAndMd5AreAnsweredOnlyWhenAllowed() {
        ClientAuthentication allowed = new ClientAuthentication("alice", "pw", PasswordPolicy.ALLOW_CLEARTEXT_AND_MD5);
        assertThat(allowed.reply(BackendMessage.AuthenticationCleartextPassword.INSTANCE))
                .contains(new FrontendMessage.PasswordMessage("pw"));
        byte[] salt = {9, 8, 7, 6};
        assertThat(new ClientAuthentication("alice", "pw", PasswordPolicy.ALLOW_CLEARTEXT_AND_MD5)
                .reply(new BackendMessage.AuthenticationMD5Password(salt)))
                .contains(new FrontendMessage.PasswordMessage(Md5Password.answer("alice", "pw", salt)));
    }

    @Test
    void byDefaultCleartextAndMd5RequestsAreRefusedWithoutSendingAnything() {
        assertThatThrownBy(() -> new ClientAuthentication("alice", "s3cret-pw").reply(BackendMessage.AuthenticationCleartextPassword.INSTANCE))
                .isInstanceOfSatisfying(ProtocolException.class, e -> {
                    assertThat(e.sqlState()).isEqualTo("28000");
                    assertThat(e.getMessage()).contains("cleartext password").contains("SCRAM_ONLY").doesNotContain("pw\b");
                });
        assertThatThrownBy(() -> new ClientAuthentication("alice", "pw", PasswordPolicy.SCRAM_ONLY)
                .reply(new BackendMessage.AuthenticationMD5Password(new byte[]{1, 2, 3, 4})))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("MD5 password");
    }
}
