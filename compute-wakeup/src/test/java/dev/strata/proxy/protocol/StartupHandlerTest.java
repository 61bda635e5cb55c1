package dev.strata.proxy.protocol;

import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.protocol.BackendMessageDecoder;
import dev.strata.pgcore.protocol.FrontendMessage;
import dev.strata.pgcore.protocol.FrontendMessageEncoder;
import dev.strata.pgcore.protocol.PgServerCodec;
import dev.strata.pgcore.protocol.ProtocolLimits;
import dev.strata.proxy.ProxyConfig;
import dev.strata.proxy.cancel.CancelKeys;
import dev.strata.proxy.testing.PostgresComputeControl;
import dev.strata.proxy.wake.EndpointRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The startup phase on an EmbeddedChannel: hostile and malformed input, answered and closed. */
class StartupHandlerTest {

    private final ProxyConfig config = ProxyConfig.defaults().withPort(0);
    private PostgresComputeControl noEndpoints;
    private EndpointRegistry registry;
    private EmbeddedChannel ch;

    @BeforeEach
    void setUp() {
        noEndpoints = new PostgresComputeControl();
        registry = new EndpointRegistry(noEndpoints, config.wake(), config.defaultIdleTimeout(), config.idleSweepInterval());
        ch = new EmbeddedChannel(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel c) {
                c.pipeline().addLast(StartupHandler.CODEC, new PgServerCodec(ProtocolLimits.PRE_AUTH))
                        .addLast("startup", new StartupHandler(config, null, registry, new CancelKeys()));
            }
        });
    }

    @AfterEach
    void tearDown() {
        ch.finishAndReleaseAll();
        registry.close();
        noEndpoints.close();
    }

    private static byte[] encode(FrontendMessage... messages) {
        EmbeddedChannel enc = new EmbeddedChannel(new FrontendMessageEncoder());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (FrontendMessage m : messages) {
            enc.writeOutbound(m);
            ByteBuf b;
            while ((b = enc.readOutbound()) != null) {
                byte[] bytes = new byte[b.readableBytes()];
                b.readBytes(bytes);
                b.release();
                out.writeBytes(bytes);
            }
        }
        return out.toByteArray();
    }

    private static FrontendMessage.StartupMessage startup(String options) {
        return FrontendMessage.StartupMessage.of(options == null ? Map.of("user", "u")
                : Map.of("user", "u", "options", options));
    }

    private void send(byte[] bytes) {
        ch.writeInbound(Unpooled.wrappedBuffer(bytes));
        ch.runPendingTasks();
    }

    private byte[] output() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            b.release();
            out.writeBytes(bytes);
        }
        return out.toByteArray();
    }

    /** Decodes typed backend messages (no one-byte encryption answers). */
    private static List<BackendMessage> decode(byte[] bytes) {
        EmbeddedChannel dec = new EmbeddedChannel(new BackendMessageDecoder());
        dec.writeInbound(Unpooled.wrappedBuffer(bytes));
        List<BackendMessage> out = new ArrayList<>();
        for (Object o; (o = dec.readInbound()) != null; ) {
            out.add((BackendMessage) o);
        }
        dec.finishAndReleaseAll();
        return out;
    }

    private BackendMessage.ErrorResponse expectErrorAndClose() {
        List<BackendMessage> out = decode(output());
        assertThat(out).hasSize(1).first().isInstanceOf(BackendMessage.ErrorResponse.class);
        assertThat(ch.isOpen()).as("closed after the error").isFalse();
        return (BackendMessage.ErrorResponse) out.get(0);
    }

    @Test
    void httpRequestInsteadOfAStartupPacketIsAProtocolViolation() {
        send("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        BackendMessage.ErrorResponse e = expectErrorAndClose();
        assertThat(e.fields().get('C')).isEqualTo("08P01");
        assertThat(e.fields().get('M')).contains("invalid startup packet length");
    }

    @Test
    void oversizedStartupPacketIsRefusedBeforeItIsBuffered() {
        send(new byte[]{0, 1, (byte) 0x86, (byte) 0xa0, 0, 3, 0, 0});
        assertThat(expectErrorAndClose().fields().get('M')).contains("100000").contains("maxStartupPacketLength=10000");
    }

    @Test
    void incompletePacketTimesOutWithAnError() {
        send(new byte[]{0, 0, 0, 40, 0, 3, 0});
        assertThat(output()).isEmpty();
        assertThat(ch.isOpen()).isTrue();
        ch.advanceTimeBy(config.startupTimeout().toMillis() + 1, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(expectErrorAndClose().fields().get('M')).isEqualTo("startup packet not received within 10000 ms");
    }

    @Test
    void secondSslRequestIsRefusedAfterTheFirstIsAnsweredN() {
        send(encode(FrontendMessage.SSLRequest.INSTANCE));
        assertThat(output()).containsExactly('N');
        send(encode(FrontendMessage.SSLRequest.INSTANCE));
        assertThat(expectErrorAndClose().fields().get('M')).isEqualTo("SSLRequest received twice");
    }

    @Test
    void gssEncryptionIsDeclinedOnceThenRefused() {
        send(encode(FrontendMessage.GSSENCRequest.INSTANCE));
        assertThat(output()).containsExactly('N');
        assertThat(ch.isOpen()).isTrue();
        send(encode(FrontendMessage.GSSENCRequest.INSTANCE));
        assertThat(expectErrorAndClose().fields().get('C')).isEqualTo("08P01");
    }

    @Test
    void bytesPipelinedBehindAnSslRequestAreRefused() {
        send(encode(FrontendMessage.SSLRequest.INSTANCE, startup("endpoint=a")));
        assertThat(expectErrorAndClose().fields().get('M')).contains("unencrypted data after SSL request");
    }

    @Test
    void oldProtocolVersionIsNotSupported() {
        send(encode(new FrontendMessage.StartupMessage(2 << 16, Map.of("user", "u"))));
        assertThat(expectErrorAndClose().fields().get('C')).isEqualTo("0A000");
    }

    @Test
    void startupWithoutAnEndpointNamesBothWaysToGiveOne() {
        send(encode(startup(null)));
        BackendMessage.ErrorResponse e = expectErrorAndClose();
        assertThat(e.fields().get('S')).isEqualTo("FATAL");
        assertThat(e.fields().get('C')).isEqualTo("08004");
        assertThat(e.fields().get('M')).contains("<endpoint>.localhost").contains("options=endpoint%3D<endpoint>");
    }

    @Test
    void unknownEndpointIsInvalidCatalogName() {
        send(encode(startup("endpoint=nowhere")));
        ch.runPendingTasks();
        BackendMessage.ErrorResponse e = expectErrorAndClose();
        assertThat(e.fields().get('C')).isEqualTo("3D000");
        assertThat(e.fields().get('M')).isEqualTo("endpoint 'nowhere' does not exist");
    }

    @Test
    void cancelRequestWithAnUnknownKeyIsIgnoredAndClosed() {
        send(encode(new FrontendMessage.CancelRequest(1, 2)));
        assertThat(output()).isEmpty();
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void randomGarbageEndsInAnErrorOrWaitsButNeverEscapes() {
        Random random = new Random(42);
        for (int i = 0; i < 300; i++) {
            tearDown();
            setUp();
            byte[] junk = new byte[1 + random.nextInt(64)];
            random.nextBytes(junk);
            send(junk);
            byte[] out = output();
            if (ch.isOpen()) {
                // a plausible length that has not fully arrived, or an 'N' to a request
                assertThat(out.length).isLessThanOrEqualTo(1);
            } else if (out.length > 0) {
                assertThat(out[0]).isIn((byte) 'E', (byte) 'N');
            }
        }
    }
}
