package dev.strata.pgcore.protocol;

import dev.strata.pgcore.protocol.FrontendMessageDecoder.PasswordKind;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.strata.pgcore.protocol.Bytes.ascii;
import static dev.strata.pgcore.protocol.Bytes.concat;
import static dev.strata.pgcore.protocol.Bytes.frame;
import static dev.strata.pgcore.protocol.Bytes.frontend;
import static dev.strata.pgcore.protocol.Bytes.int32;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

class FrontendMessageDecoderTest {

    private static final FrontendMessage.StartupMessage STARTUP = FrontendMessage.StartupMessage.of(
            orderedMap("user", "alice", "database", "app", "options", "endpoint=ep-1 -c search_path=x"));

    private final FrontendMessageDecoder decoder = new FrontendMessageDecoder();
    private final EmbeddedChannel channel = new EmbeddedChannel(decoder);

    @Test
    void sslRequestThenStartupThenTypedMessages() {
        byte[] bytes = frontend(FrontendMessage.SSLRequest.INSTANCE);
        assertThat(Bytes.decode(channel, bytes)).containsExactly(FrontendMessage.SSLRequest.INSTANCE);
        assertThat(decoder.state()).isEqualTo(FrontendMessageDecoder.State.STARTUP);

        List<Object> decoded = Bytes.decode(channel, frontend(STARTUP, new FrontendMessage.Query("SELECT 1"),
                FrontendMessage.Terminate.INSTANCE));
        assertThat(decoded).containsExactly(STARTUP, new FrontendMessage.Query("SELECT 1"),
                FrontendMessage.Terminate.INSTANCE);
        FrontendMessage.StartupMessage startup = (FrontendMessage.StartupMessage) decoded.get(0);
        assertThat(startup.parameters().keySet()).containsExactly("user", "database", "options");
        assertThat(startup.user()).isEqualTo("alice");
        assertThat(startup.majorVersion()).isEqualTo(3);
        assertThat(decoder.state()).isEqualTo(FrontendMessageDecoder.State.MESSAGES);
    }

    @Test
    void everyMessageRoundTrips() {
        Bytes.decode(channel, frontend(STARTUP));
        List<FrontendMessage> typed = List.of(
                new FrontendMessage.Query("SELECT 'ü'"), new FrontendMessage.PasswordMessage("secret"),
                new FrontendMessage.CopyData(new byte[] {0, 1, 2, (byte) 0xff}), FrontendMessage.CopyDone.INSTANCE,
                new FrontendMessage.CopyFail("stop"), FrontendMessage.Sync.INSTANCE, FrontendMessage.Flush.INSTANCE,
                FrontendMessage.Terminate.INSTANCE);
        List<Object> decoded = Bytes.decode(channel, frontend(typed.toArray(FrontendMessage[]::new)));
        assertThat(decoded).usingRecursiveFieldByFieldElementComparator().containsExactlyElementsOf(typed);
    }

    @Test
    void saslMessagesAreReadAsTheServerLastAskedFor() {
        Bytes.decode(channel, frontend(STARTUP));
        decoder.expectPassword(PasswordKind.SASL_INITIAL_RESPONSE);
        var initial = new FrontendMessage.SASLInitialResponse("SCRAM-SHA-256", ascii("n,,n=,r=abc"));
        var initialWithoutData = new FrontendMessage.SASLInitialResponse("SCRAM-SHA-256", null);
        assertThat(Bytes.decode(channel, frontend(initial, initialWithoutData)))
                .usingRecursiveFieldByFieldElementComparator().containsExactly(initial, initialWithoutData);
        decoder.expectPassword(PasswordKind.SASL_RESPONSE);
        var response = new FrontendMessage.SASLResponse(ascii("c=biws,r=abc,p=xyz"));
        assertThat(Bytes.decode(channel, frontend(response)))
                .usingRecursiveFieldByFieldElementComparator().containsExactly(response);
    }

    @Test
    void cancelRequestEndsTheConversation() {
        assertThat(Bytes.decode(channel, frontend(new FrontendMessage.CancelRequest(42, -7))))
                .containsExactly(new FrontendMessage.CancelRequest(42, -7));
        assertThat(decoder.state()).isEqualTo(FrontendMessageDecoder.State.CANCELLED);
        assertRejected(new byte[] {'Q'}, "after CancelRequest");
    }

    @Test
    void byteByByteInputWaitsAndThenDecodesTheSame() {
        byte[] bytes = concat(frontend(FrontendMessage.SSLRequest.INSTANCE), frontend(STARTUP,
                new FrontendMessage.Query("SELECT 1"), new FrontendMessage.CopyData(new byte[300])));
        List<Object> decoded = Bytes.decodeByteByByte(channel, bytes);
        assertThat(decoded).hasSize(4);
        assertThat(decoded.get(1)).isEqualTo(STARTUP);
        assertThat(((FrontendMessage.CopyData) decoded.get(3)).data()).hasSize(300);
    }

    @Test
    void incompleteInputProducesNothingYet() {
        byte[] bytes = frontend(STARTUP);
        assertThat(Bytes.decode(channel, java.util.Arrays.copyOf(bytes, bytes.length - 1))).isEmpty();
        assertThat(channel.isActive()).isTrue();
    }

    @Test
    void startupPacketOverTheLimitIsRejectedBeforeBuffering() {
        assertRejected(int32(10_001), "invalid startup packet length 10001", "maxStartupPacketLength=10000");
    }

    @Test
    void startupPacketTooShortIsRejected() {
        assertRejected(int32(7), "invalid startup packet length 7");
    }

    @Test
    void negativeStartupPacketLengthIsRejected() {
        assertRejected(int32(-1), "invalid startup packet length -1");
    }

    @Test
    void unknownProtocolVersionIsRejectedAsUnsupported() {
        assertThatThrownBy(() -> Bytes.decode(channel, frame(null, concat(int32(2 << 16), ascii("user\0a\0\0")))))
                .isInstanceOfSatisfying(ProtocolException.class, e -> {
                    assertThat(e.sqlState()).isEqualTo(ProtocolException.FEATURE_NOT_SUPPORTED);
                    assertThat(e).hasMessageContaining("unsupported frontend protocol 2.0");
                });
    }

    @Test
    void oddParameterListIsRejected() {
        assertRejected(frame(null, concat(int32(FrontendMessage.PROTOCOL_3_0), ascii("user\0alice\0database\0"))),
                "missing NUL terminator in value of startup parameter database");
    }

    @Test
    void missingListTerminatorIsRejected() {
        assertRejected(frame(null, concat(int32(FrontendMessage.PROTOCOL_3_0), ascii("user\0alice\0"))),
                "missing NUL terminator");
    }

    @Test
    void trailingBytesAfterTerminatorAreRejected() {
        assertRejected(frame(null, concat(int32(FrontendMessage.PROTOCOL_3_0), ascii("user\0alice\0\0x"))),
                "trailing bytes");
    }

    @Test
    void duplicateStartupParameterIsRejected() {
        assertRejected(frame(null, concat(int32(FrontendMessage.PROTOCOL_3_0), ascii("user\0a\0user\0b\0\0"))),
                "duplicate parameter user");
    }

    @Test
    void dataPipelinedBehindSslRequestIsRejected() {
        assertRejected(concat(frontend(FrontendMessage.SSLRequest.INSTANCE), new byte[] {0}),
                "unencrypted data after SSL request");
    }

    @Test
    void sslRequestWithWrongLengthIsRejected() {
        assertRejected(frame(null, concat(int32(FrontendMessage.SSL_REQUEST_CODE), new byte[4])), "trailing bytes");
    }

    @Test
    void unknownMessageTypeIsRejectedAtItsFirstByte() {
        Bytes.decode(channel, frontend(STARTUP));
        assertRejected(new byte[] {'Z'}, "invalid frontend message type 'Z'");
    }

    @Test
    void messageLengthBelowFourIsRejected() {
        Bytes.decode(channel, frontend(STARTUP));
        assertRejected(frame('Q', 3, new byte[0]), "invalid length 3");
    }

    @Test
    void messageOverTheConfiguredLimitIsRejectedBeforeBuffering() {
        EmbeddedChannel small = new EmbeddedChannel(new FrontendMessageDecoder(ProtocolLimits.PRE_AUTH));
        Bytes.decode(small, frontend(STARTUP));
        assertThatThrownBy(() -> Bytes.decode(small, frame('Q', 2_000_000_000, new byte[0])))
                .isInstanceOf(ProtocolException.class)
                .hasMessageContaining("length 2000000000").hasMessageContaining("maxMessageLength=10000");
    }

    @Test
    void passwordOverTheAuthLimitIsRejected() {
        Bytes.decode(channel, frontend(STARTUP));
        assertRejected(frame('p', 65_536, new byte[0]), "length 65536", "maxAuthMessageLength=65535");
    }

    @Test
    void fixedLengthMessageWithABodyIsRejected() {
        Bytes.decode(channel, frontend(STARTUP));
        assertRejected(frame('X', new byte[1]), "length 5 exceeds its fixed length=4");
    }

    @Test
    void queryWithoutTerminatorIsRejected() {
        Bytes.decode(channel, frontend(STARTUP));
        assertRejected(frame('Q', ascii("SELECT 1")), "missing NUL terminator in query string");
    }

    @Test
    void saslLengthBeyondTheMessageIsRejected() {
        Bytes.decode(channel, frontend(STARTUP));
        decoder.expectPassword(PasswordKind.SASL_INITIAL_RESPONSE);
        assertRejected(frame('p', concat(ascii("SCRAM-SHA-256\0"), int32(1000), new byte[3])),
                "message too short for SASL data");
    }

    @Test
    void afterARejectionFurtherInputIsDropped() {
        Bytes.decode(channel, frontend(STARTUP));
        assertRejected(new byte[] {0}, "invalid frontend message type 0x00");
        assertThat(decoder.state()).isEqualTo(FrontendMessageDecoder.State.FAILED);
        assertThat(Bytes.decode(channel, frontend(new FrontendMessage.Query("SELECT 1")))).isEmpty();
    }

    @Test
    void randomGarbageIsEitherAProtocolErrorOrIncompleteNeverAnythingElse() {
        Random random = new Random(20261125);
        byte[] startup = frontend(STARTUP);
        for (int i = 0; i < 3000; i++) {
            EmbeddedChannel ch = new EmbeddedChannel(new FrontendMessageDecoder(ProtocolLimits.PRE_AUTH));
            byte[] garbage = new byte[random.nextInt(64)];
            random.nextBytes(garbage);
            // Half the time garbage starts right away, half the time after a valid startup packet.
            byte[] input = random.nextBoolean() ? garbage : concat(startup, garbage);
            try {
                ch.writeInbound(Unpooled.wrappedBuffer(input));
                Bytes.drain(ch);
            } catch (ProtocolException expected) {
                // the planned outcome for most garbage
            } catch (DecoderException e) {
                fail("input " + java.util.HexFormat.of().formatHex(input) + " raised " + e);
            } finally {
                ch.finishAndReleaseAll();
            }
        }
    }

    private void assertRejected(byte[] input, String... messageParts) {
        assertThatThrownBy(() -> Bytes.decode(channel, input))
                .isInstanceOfSatisfying(ProtocolException.class, e -> {
                    for (String part : messageParts) {
                        assertThat(e).hasMessageContaining(part);
                    }
                    assertThat(e.sqlState()).isEqualTo(ProtocolException.PROTOCOL_VIOLATION);
                });
    }

    static Map<String, String> orderedMap(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }
}
