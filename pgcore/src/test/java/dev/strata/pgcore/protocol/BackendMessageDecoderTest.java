package dev.strata.pgcore.protocol;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.strata.pgcore.protocol.Bytes.ascii;
import static dev.strata.pgcore.protocol.Bytes.backend;
import static dev.strata.pgcore.protocol.Bytes.concat;
import static dev.strata.pgcore.protocol.Bytes.frame;
import static dev.strata.pgcore.protocol.Bytes.int32;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

class BackendMessageDecoderTest {

    private static final List<BackendMessage> ALL = List.of(
            BackendMessage.AuthenticationOk.INSTANCE,
            BackendMessage.AuthenticationCleartextPassword.INSTANCE,
            new BackendMessage.AuthenticationMD5Password(new byte[] {1, 2, 3, 4}),
            new BackendMessage.AuthenticationSASL(List.of("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256")),
            new BackendMessage.AuthenticationSASLContinue(ascii("r=abc,s=c2FsdA==,i=4096")),
            new BackendMessage.AuthenticationSASLFinal(ascii("v=xyz")),
            new BackendMessage.ParameterStatus("server_version", "17.6"),
            new BackendMessage.BackendKeyData(1234, -99),
            new BackendMessage.ReadyForQuery(BackendMessage.TransactionStatus.IN_TRANSACTION),
            BackendMessage.ErrorResponse.of("ERROR", "42601", "syntax error at or near \"x\""),
            new BackendMessage.NoticeResponse(Map.of('S', "WARNING", 'M', "careful", 'H', "a hint")),
            new BackendMessage.RowDescription(List.of(BackendMessage.Field.text("a", BackendMessage.Field.INT4_OID),
                    new BackendMessage.Field("b", 16384, (short) 2, 25, (short) -1, -1, (short) 1))),
            new BackendMessage.DataRow(Arrays.asList(ascii("1"), null, new byte[0])),
            new BackendMessage.CommandComplete("SELECT 1"),
            BackendMessage.EmptyQueryResponse.INSTANCE,
            new BackendMessage.CopyInResponse((byte) 0, List.of((short) 0, (short) 0)),
            new BackendMessage.CopyOutResponse((byte) 1, List.of((short) 1)),
            new BackendMessage.CopyBothResponse((byte) 0, List.of()),
            new BackendMessage.CopyData(new byte[] {'w', 0, (byte) 0xff}),
            BackendMessage.CopyDone.INSTANCE,
            new BackendMessage.NotificationResponse(77, "chan", "payload"),
            new BackendMessage.NegotiateProtocolVersion(0, List.of("_pq_.foo")));

    private final BackendMessageDecoder decoder = new BackendMessageDecoder();
    private final EmbeddedChannel channel = new EmbeddedChannel(decoder);

    @Test
    void everyMessageRoundTrips() {
        List<Object> decoded = Bytes.decode(channel, backend(ALL.toArray(BackendMessage[]::new)));
        assertThat(decoded).usingRecursiveFieldByFieldElementComparator().containsExactlyElementsOf(ALL);
    }

    @Test
    void everyMessageRoundTripsByteByByte() {
        List<Object> decoded = Bytes.decodeByteByByte(channel, backend(ALL.toArray(BackendMessage[]::new)));
        assertThat(decoded).usingRecursiveFieldByFieldElementComparator().containsExactlyElementsOf(ALL);
    }

    @Test
    void errorFieldsHaveTypedAccessors() {
        var error = (BackendMessage.ErrorResponse) Bytes.decode(channel,
                backend(new BackendMessage.ErrorResponse(Map.of('S', "ERREUR", 'V', "ERROR", 'C', "42P01",
                        'M', "relation does not exist", 'D', "detail", 'H', "hint")))).getFirst();
        assertThat(error.severity()).isEqualTo("ERROR");
        assertThat(error.code()).isEqualTo("42P01");
        assertThat(error.message()).isEqualTo("relation does not exist");
        assertThat(error.detail()).isEqualTo("detail");
        assertThat(error.hint()).isEqualTo("hint");
    }

    @Test
    void singleByteEncryptionAnswerIsReadWhenExpected() {
        decoder.expectEncryptionResponse();
        assertThat(Bytes.decode(channel, concat(new byte[] {'N'}, backend(BackendMessage.AuthenticationOk.INSTANCE))))
                .containsExactly(BackendMessage.EncryptionResponse.REFUSED, BackendMessage.AuthenticationOk.INSTANCE);
        decoder.expectEncryptionResponse();
        assertThat(Bytes.decode(channel, new byte[] {'S'})).containsExactly(BackendMessage.EncryptionResponse.ACCEPTED);
    }

    @Test
    void errorInsteadOfEncryptionAnswerIsDecodedAsErrorResponse() {
        decoder.expectEncryptionResponse();
        var error = BackendMessage.ErrorResponse.of("FATAL", "08P01", "unsupported frontend protocol");
        assertThat(Bytes.decode(channel, backend(error))).usingRecursiveFieldByFieldElementComparator()
                .containsExactly(error);
        assertThat(decoder.state()).isEqualTo(BackendMessageDecoder.State.MESSAGES);
    }

    @Test
    void bytesBehindAnAcceptedSslAnswerAreRejected() {
        decoder.expectEncryptionResponse();
        assertRejected(new byte[] {'S', 'R'}, "unencrypted data after the encryption response");
    }

    @Test
    void invalidEncryptionAnswerIsRejected() {
        decoder.expectEncryptionResponse();
        assertRejected(new byte[] {'X'}, "invalid response to encryption request: 'X'");
    }

    @Test
    void unknownMessageTypeIsRejected() {
        assertRejected(new byte[] {'?'}, "invalid backend message type '?'");
    }

    @Test
    void unsupportedAuthenticationCodeIsRejected() {
        assertThatThrownBy(() -> Bytes.decode(channel, frame('R', int32(7))))
                .isInstanceOfSatisfying(ProtocolException.class, e -> {
                    assertThat(e).hasMessageContaining("unsupported authentication request code 7");
                    assertThat(e.sqlState()).isEqualTo(ProtocolException.FEATURE_NOT_SUPPORTED);
                });
    }

    @Test
    void authenticationMessageOverItsLimitIsRejectedBeforeBuffering() {
        assertRejected(frame('R', 1 << 20, new byte[0]), "length 1048576", "maxAuthMessageLength=65535");
    }

    @Test
    void copyDataOverTheConfiguredLimitIsRejected() {
        EmbeddedChannel small = new EmbeddedChannel(new BackendMessageDecoder(ProtocolLimits.DEFAULT.withMaxMessageLength(1024)));
        assertThatThrownBy(() -> Bytes.decode(small, frame('d', 1025, new byte[0])))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("length 1025 exceeds maxMessageLength=1024");
    }

    @Test
    void dataRowValueLongerThanTheMessageIsRejected() {
        assertRejected(frame('D', concat(new byte[] {0, 1}, int32(1_000_000), new byte[2])),
                "message too short for column value");
    }

    @Test
    void dataRowNegativeValueLengthIsRejected() {
        assertRejected(frame('D', concat(new byte[] {0, 1}, int32(-2))), "invalid value length -2");
    }

    @Test
    void negativeColumnCountIsRejected() {
        assertRejected(frame('T', new byte[] {(byte) 0xff, (byte) 0xff}), "field count is negative");
    }

    @Test
    void errorWithoutFinalTerminatorIsRejected() {
        assertRejected(frame('E', ascii("SERROR\0")), "message too short for field code");
    }

    @Test
    void readyForQueryWithUnknownStatusIsRejected() {
        assertRejected(frame('Z', new byte[] {'Q'}), "unknown transaction status in ReadyForQuery: 'Q'");
    }

    @Test
    void backendKeyDataWithExtraBytesIsRejected() {
        assertRejected(frame('K', new byte[9]), "1 unexpected trailing bytes");
    }

    @Test
    void copyDoneWithABodyIsRejected() {
        assertRejected(frame('c', new byte[3]), "length 7 exceeds its fixed length=4");
    }

    @Test
    void randomGarbageIsEitherAProtocolErrorOrIncompleteNeverAnythingElse() {
        Random random = new Random(11);
        byte[] valid = backend(ALL.toArray(BackendMessage[]::new));
        for (int i = 0; i < 3000; i++) {
            EmbeddedChannel ch = new EmbeddedChannel(new BackendMessageDecoder(ProtocolLimits.PRE_AUTH));
            byte[] input;
            if (random.nextBoolean()) {
                input = new byte[random.nextInt(64)];
                random.nextBytes(input);
            } else {
                // Valid stream with a few bytes flipped: plausible types with hostile contents.
                input = valid.clone();
                for (int j = 0; j < 3; j++) {
                    input[random.nextInt(input.length)] = (byte) random.nextInt(256);
                }
            }
            try {
                ch.writeInbound(Unpooled.wrappedBuffer(input));
                Bytes.drain(ch);
            } catch (ProtocolException expected) {
                // the planned outcome for most garbage
            } catch (DecoderException | IllegalArgumentException e) {
                fail("input " + HexFormat.of().formatHex(input) + " raised " + e);
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
                });
        assertThat(decoder.state()).isEqualTo(BackendMessageDecoder.State.FAILED);
    }
}
