package dev.strata.pgcore.protocol;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Exact bytes from the protocol documentation's message formats, so a symmetric mistake
 * in an encoder and its decoder cannot pass the round-trip tests unnoticed.
 */
class GoldenBytesTest {

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    @Test
    void startupPhasePackets() {
        assertThat(hex(Bytes.frontend(FrontendMessage.SSLRequest.INSTANCE))).isEqualTo("0000000804d2162f");
        assertThat(hex(Bytes.frontend(FrontendMessage.GSSENCRequest.INSTANCE))).isEqualTo("0000000804d21630");
        assertThat(hex(Bytes.frontend(new FrontendMessage.CancelRequest(1, 2))))
                .isEqualTo("0000001004d2162e0000000100000002");
        assertThat(hex(Bytes.frontend(FrontendMessage.StartupMessage.of(Map.of("user", "u")))))
                .isEqualTo("00000010" + "00030000" + "7573657200" + "7500" + "00");
    }

    @Test
    void typedMessages() {
        assertThat(hex(Bytes.frontend(new FrontendMessage.Query("x")))).isEqualTo("51" + "00000006" + "7800");
        assertThat(hex(Bytes.frontend(FrontendMessage.Terminate.INSTANCE))).isEqualTo("5800000004");
        assertThat(hex(Bytes.backend(BackendMessage.ReadyForQuery.IDLE))).isEqualTo("5a" + "00000005" + "49");
        assertThat(hex(Bytes.backend(BackendMessage.AuthenticationOk.INSTANCE))).isEqualTo("52" + "00000008" + "00000000");
        assertThat(hex(Bytes.backend(new BackendMessage.AuthenticationSASL(List.of("SCRAM-SHA-256")))))
                .isEqualTo("52" + "00000017" + "0000000a" + hex(Bytes.ascii("SCRAM-SHA-256")) + "00" + "00");
        assertThat(hex(Bytes.backend(new BackendMessage.ErrorResponse(Map.of('C', "08P01")))))
                .isEqualTo("45" + "0000000c" + "43" + hex(Bytes.ascii("08P01")) + "00" + "00");
        assertThat(hex(Bytes.backend(BackendMessage.EncryptionResponse.REFUSED))).isEqualTo("4e");
    }

    @Test
    void largeCopyDataWithinTheLimitArrivesWhole() {
        EmbeddedChannel ch = new EmbeddedChannel(new BackendMessageDecoder());
        byte[] payload = new byte[4 * 1024 * 1024];
        payload[payload.length - 1] = 42;
        byte[] wire = Bytes.backend(new BackendMessage.CopyData(payload));
        // In 64 kB reads, as a socket would deliver it.
        for (int off = 0; off < wire.length; off += 65536) {
            ch.writeInbound(io.netty.buffer.Unpooled.wrappedBuffer(wire, off, Math.min(65536, wire.length - off)));
        }
        List<Object> decoded = Bytes.drain(ch);
        assertThat(decoded).hasSize(1);
        assertThat(((BackendMessage.CopyData) decoded.getFirst()).data()).isEqualTo(payload);
        ch.finishAndReleaseAll();
    }
}
