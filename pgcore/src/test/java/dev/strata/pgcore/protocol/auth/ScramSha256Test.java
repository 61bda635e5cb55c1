package dev.strata.pgcore.protocol.auth;

import dev.strata.pgcore.protocol.ProtocolException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ScramSha256Test {

    // RFC 7677 section 3.
    private static final String SERVER_FIRST =
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    @Test
    void matchesTheRfc7677Example() {
        ScramSha256 scram = new ScramSha256("user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assertThat(scram.clientFirstMessage()).isEqualTo("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        assertThat(scram.clientFinalMessage(SERVER_FIRST)).isEqualTo(
                "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                        + "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        scram.verifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    }

    @Test
    void wrongServerSignatureIsRejected() {
        ScramSha256 scram = new ScramSha256("user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        scram.clientFirstMessage();
        scram.clientFinalMessage(SERVER_FIRST);
        assertThatThrownBy(() -> scram.verifyServerFinal("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("server signature does not match");
    }

    @Test
    void serverNonceMustExtendTheClientNonce() {
        ScramSha256 scram = new ScramSha256("user", "pencil", "abc");
        scram.clientFirstMessage();
        assertThatThrownBy(() -> scram.clientFinalMessage("r=xyz123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("nonce");
    }

    @Test
    void hostileIterationCountIsRejected() {
        ScramSha256 scram = new ScramSha256("", "pencil", "abc");
        scram.clientFirstMessage();
        assertThatThrownBy(() -> scram.clientFinalMessage("r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2147483647"))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("iteration count 2147483647");
    }

    @Test
    void malformedServerFirstIsRejected() {
        ScramSha256 scram = new ScramSha256("secret");
        scram.clientFirstMessage();
        assertThatThrownBy(() -> scram.clientFinalMessage("garbage")).isInstanceOf(ProtocolException.class)
                .hasMessageContaining("malformed SCRAM server-first message");
    }

    @Test
    void clientAndVerifierAgreeOnTheRightPasswordOnly() {
        ScramSha256Verifier verifier = ScramSha256Verifier.forPassword("correct horse", 4096);
        ScramSha256 client = new ScramSha256("correct horse");
        String serverFirst = verifier.serverFirstMessage(client.clientFirstMessage());
        client.verifyServerFinal(verifier.serverFinalMessage(client.clientFinalMessage(serverFirst)));

        ScramSha256Verifier verifier2 = ScramSha256Verifier.forPassword("correct horse", 4096);
        ScramSha256 wrong = new ScramSha256("wrong");
        String serverFirst2 = verifier2.serverFirstMessage(wrong.clientFirstMessage());
        String clientFinal = wrong.clientFinalMessage(serverFirst2);
        assertThatThrownBy(() -> verifier2.serverFinalMessage(clientFinal))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("wrong password");
    }

    @Test
    void md5AnswerIsMd5OfStoredHashAndSalt() {
        // Reference values from md5sum: md5("secretalice"), then md5(that hex + 01 02 03 04).
        assertThat(Md5Password.stored("alice", "secret")).isEqualTo("md54a0a68b43b6cd5cf266fa02f196e2371");
        assertThat(Md5Password.answer("alice", "secret", new byte[] {1, 2, 3, 4})).isEqualTo("md598a0412b9c31436fc53776e863350083");
    }
}
