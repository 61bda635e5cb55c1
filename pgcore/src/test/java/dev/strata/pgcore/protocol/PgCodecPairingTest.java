package dev.strata.pgcore.protocol;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.strata.pgcore.protocol.Bytes.ascii;
import static org.assertj.core.api.Assertions.assertThat;

/** The combined codecs keep their decoders in step with what their own side wrote. */
class PgCodecPairingTest {

    @Test
    void serverCodecReadsPasswordMessagesAsTheLastRequestAsked() {
        PgServerCodec codec = new PgServerCodec();
        EmbeddedChannel ch = new EmbeddedChannel(codec);
        Bytes.decode(ch, Bytes.frontend(FrontendMessage.StartupMessage.of(Map.of("user", "u"))));

        ch.writeOutbound(new BackendMessage.AuthenticationSASL(List.of("SCRAM-SHA-256")));
        var initial = new FrontendMessage.SASLInitialResponse("SCRAM-SHA-256", ascii("n,,n=,r=x"));
        assertThat(Bytes.decode(ch, Bytes.frontend(initial))).usingRecursiveFieldByFieldElementComparator()
                .containsExactly(initial);

        ch.writeOutbound(new BackendMessage.AuthenticationSASLContinue(ascii("r=xy,s=AA==,i=1")));
        var response = new FrontendMessage.SASLResponse(ascii("c=biws,r=xy,p=AA=="));
        assertThat(Bytes.decode(ch, Bytes.frontend(response))).usingRecursiveFieldByFieldElementComparator()
                .containsExactly(response);

        ch.writeOutbound(BackendMessage.AuthenticationCleartextPassword.INSTANCE);
        assertThat(Bytes.decode(ch, Bytes.frontend(new FrontendMessage.PasswordMessage("pw"))))
                .containsExactly(new FrontendMessage.PasswordMessage("pw"));
        ch.finishAndReleaseAll();
    }

    @Test
    void clientCodecExpectsTheSingleByteAnswerAfterWritingAnSslRequest() {
        PgClientCodec codec = new PgClientCodec();
        EmbeddedChannel ch = new EmbeddedChannel(codec);
        ch.writeOutbound(FrontendMessage.SSLRequest.INSTANCE);
        assertThat(codec.decoder().state()).isEqualTo(BackendMessageDecoder.State.ENCRYPTION_RESPONSE);
        assertThat(Bytes.decode(ch, new byte[] {'N'})).containsExactly(BackendMessage.EncryptionResponse.REFUSED);

        ch.writeOutbound(FrontendMessage.GSSENCRequest.INSTANCE);
        assertThat(Bytes.decode(ch, new byte[] {'N'})).containsExactly(BackendMessage.EncryptionResponse.REFUSED);
        assertThat(codec.decoder().state()).isEqualTo(BackendMessageDecoder.State.MESSAGES);
        ch.finishAndReleaseAll();
    }
}
