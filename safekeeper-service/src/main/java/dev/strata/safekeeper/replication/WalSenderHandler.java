package dev.strata.safekeeper.replication;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.protocol.FrontendMessage;
import dev.strata.pgcore.protocol.ProtocolException;
import dev.strata.pgcore.protocol.auth.ScramSha256;
import dev.strata.pgcore.protocol.auth.ScramSha256Verifier;
import dev.strata.pgcore.protocol.replication.ReplicationMessage;
import dev.strata.safekeeper.timeline.Timeline;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.timeout.ReadTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One walsender connection: SSL refused, SCRAM-SHA-256 login, then the replication commands
 * a stock standby, {@code pg_receivewal} or a pageserver sends. The timeline is named in the
 * startup packet, as a {@code timeline_id} parameter or {@code options=-c timeline_id=<hex>}
 * ({@code strata.timeline_id} also works: a client that streams from stock PostgreSQL too, like
 * the pageserver, can always send it, since PostgreSQL accepts any two-part custom option).
 * Streaming itself runs in {@link WalSendLoop}, off the event loop.
 */
final class WalSenderHandler extends SimpleChannelInboundHandler<FrontendMessage> {

    private static final Logger log = LoggerFactory.getLogger(WalSenderHandler.class);
    private static final Pattern OPTION = Pattern.compile("(?:-c\\s*|--)(?:strata\\.)?timeline_id=([0-9A-Fa-f]+)");
    /** The pageserver says who it is: its flush position is then its durable LSN (WAL retention). */
    private static final Pattern PAGESERVER_ROLE = Pattern.compile("(?:-c\\s*|--)strata\\.role=pageserver(?:\\s|$)");
    private static final int SCRAM_ITERATIONS = 4096;

    private enum State { STARTUP, SASL_INITIAL, SASL_FINAL, READY, STREAMING, CLOSED }

    private final WalSenderConfig config;
    private final Duration idleTimeout;
    private final Function<TimelineId, Optional<Timeline>> timelines;
    private State state = State.STARTUP;
    private ScramSha256Verifier verifier;
    private Timeline timeline;
    private WalSendLoop sender;
    private boolean pageserver;

    WalSenderHandler(WalSenderConfig config, Function<TimelineId, Optional<Timeline>> timelines, Duration idleTimeout) {
        this.config = config;
        this.idleTimeout = idleTimeout;
        this.timelines = timelines;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FrontendMessage msg) {
        switch (state) {
            case STARTUP -> startup(ctx, msg);
            case SASL_INITIAL -> saslInitial(ctx, msg);
            case SASL_FINAL -> saslFinal(ctx, msg);
            case READY -> command(ctx, msg);
            case STREAMING -> streaming(ctx, msg);
            case CLOSED -> { }
        }
    }

    private void startup(ChannelHandlerContext ctx, FrontendMessage msg) {
        switch (msg) {
            case FrontendMessage.SSLRequest r -> ctx.writeAndFlush(BackendMessage.EncryptionResponse.REFUSED);
            case FrontendMessage.GSSENCRequest r -> ctx.writeAndFlush(BackendMessage.EncryptionResponse.REFUSED);
            case FrontendMessage.CancelRequest r -> ctx.close();
            case FrontendMessage.StartupMessage s -> {
                String replication = s.parameters().getOrDefault("replication", "false").toLowerCase(Locale.ROOT);
                if (!List.of("true", "on", "yes", "1").contains(replication)) {
                    fatal(ctx, "08004", "a safekeeper accepts only physical replication connections (replication=true)");
                    return;
                }
                if (!config.user().equals(s.user())) {
                    fatal(ctx, "28P01", "password authentication failed for user \"" + s.user() + "\"");
                    return;
                }
                Optional<TimelineId> id = timelineId(s);
                if (id.isEmpty()) {
                    fatal(ctx, "08004", "no timeline named: pass options='-c timeline_id=<32 hex digits>'");
                    return;
                }
                Optional<Timeline> tl = timelines.apply(id.get());
                if (tl.isEmpty()) {
                    fatal(ctx, "3D000", "timeline " + id.get() + " does not exist on this safekeeper");
                    return;
                }
                timeline = tl.get();
                String options = s.parameters().get("options");
                pageserver = options != null && PAGESERVER_ROLE.matcher(options).find();
                state = State.SASL_INITIAL;
                ctx.writeAndFlush(new BackendMessage.AuthenticationSASL(List.of(ScramSha256.MECHANISM)));
            }
            default -> fatal(ctx, ProtocolException.PROTOCOL_VIOLATION, "expected a startup message");
        }
    }

    private void saslInitial(ChannelHandlerContext ctx, FrontendMessage msg) {
        if (!(msg instanceof FrontendMessage.SASLInitialResponse r) || !ScramSha256.MECHANISM.equals(r.mechanism())) {
            fatal(ctx, "28000", "expected a SCRAM-SHA-256 SASLInitialResponse");
            return;
        }
        verifier = ScramSha256Verifier.forPassword(config.password(), SCRAM_ITERATIONS);
        String first = verifier.serverFirstMessage(new String(r.data(), StandardCharsets.UTF_8));
        state = State.SASL_FINAL;
        ctx.writeAndFlush(new BackendMessage.AuthenticationSASLContinue(first.getBytes(StandardCharsets.UTF_8)));
    }

    private void saslFinal(ChannelHandlerContext ctx, FrontendMessage msg) {
        if (!(msg instanceof FrontendMessage.SASLResponse r)) {
            fatal(ctx, "28000", "expected a SCRAM-SHA-256 SASLResponse");
            return;
        }
        String fin;
        try {
            fin = verifier.serverFinalMessage(new String(r.data(), StandardCharsets.UTF_8));
        } catch (ProtocolException e) {
            fatal(ctx, "28P01", "password authentication failed for user \"" + config.user() + "\"");
            return;
        }
        ctx.write(new BackendMessage.AuthenticationSASLFinal(fin.getBytes(StandardCharsets.UTF_8)));
        ctx.write(BackendMessage.AuthenticationOk.INSTANCE);
        ctx.write(new BackendMessage.ParameterStatus("server_version", config.serverVersion()));
        ctx.write(new BackendMessage.ParameterStatus("integer_datetimes", "on"));
        ctx.write(new BackendMessage.ParameterStatus("server_encoding", "UTF8"));
        ctx.write(new BackendMessage.ParameterStatus("client_encoding", "UTF8"));
        ctx.writeAndFlush(BackendMessage.ReadyForQuery.IDLE);
        state = State.READY;
    }

    private void command(ChannelHandlerContext ctx, FrontendMessage msg) {
        switch (msg) {
            case FrontendMessage.Query q -> run(ctx, ReplicationCommand.parse(q.sql()));
            case FrontendMessage.Terminate t -> ctx.close();
            default -> {
                ctx.write(BackendMessage.ErrorResponse.of("ERROR", ProtocolException.PROTOCOL_VIOLATION,
                        "a walsender takes only simple queries, got " + msg.getClass().getSimpleName()));
                ctx.writeAndFlush(BackendMessage.ReadyForQuery.IDLE);
            }
        }
    }

    private void run(ChannelHandlerContext ctx, ReplicationCommand cmd) {
        switch (cmd) {
            case ReplicationCommand.IdentifySystem i -> {
                long systemId = timeline.acceptor().state().systemId();
                ctx.write(new BackendMessage.RowDescription(List.of(
                        BackendMessage.Field.text("systemid", BackendMessage.Field.TEXT_OID),
                        BackendMessage.Field.text("timeline", BackendMessage.Field.INT4_OID),
                        BackendMessage.Field.text("xlogpos", BackendMessage.Field.TEXT_OID),
                        BackendMessage.Field.text("dbname", BackendMessage.Field.TEXT_OID))));
                ctx.write(new BackendMessage.DataRow(java.util.Arrays.asList(
                        bytes(Long.toUnsignedString(systemId)), bytes("1"), bytes(timeline.servableEnd().toString()), null)));
                complete(ctx, "IDENTIFY_SYSTEM");
            }
            case ReplicationCommand.Show s -> {
                String value = switch (s.name()) {
                    case "wal_segment_size" -> (timeline.acceptor().state().walSegmentSize() >> 20) + "MB";
                    case "data_directory_mode" -> "0700";
                    case "server_version" -> config.serverVersion();
                    case "integer_datetimes" -> "on";
                    default -> null;
                };
                if (value == null) {
                    error(ctx, "42704", "unrecognized configuration parameter \"" + s.name() + "\"");
                    return;
                }
                ctx.write(new BackendMessage.RowDescription(List.of(BackendMessage.Field.text(s.name(), BackendMessage.Field.TEXT_OID))));
                ctx.write(new BackendMessage.DataRow(List.of(bytes(value))));
                complete(ctx, "SHOW");
            }
            case ReplicationCommand.StartReplication start -> startReplication(ctx, start);
            case ReplicationCommand.Unsupported u ->
                    error(ctx, "42601", "command not supported by a Strata safekeeper: " + abbreviate(u.text()));
        }
    }

    private void startReplication(ChannelHandlerContext ctx, ReplicationCommand.StartReplication start) {
        if (start.timeline() != 1) {
            error(ctx, "58P01", "requested timeline " + start.timeline() + " is not in this server's history (it has timeline 1)");
            return;
        }
        Lsn from = start.start();
        Lsn begin = timeline.wal().startLsn();
        Lsn retained = timeline.readableStart(); // below the local WAL when it was offloaded
        Lsn end = timeline.servableEnd();
        if (from.isBefore(begin) && from.equals(begin.segmentStart(timeline.wal().segmentSize()))) {
            // A stock standby always asks for the whole segment that holds the WAL it needs
            // (RequestXLogStreaming rounds down), also for the timeline's first segment, whose bytes
            // before the start no safekeeper has: a standby started from a basebackup at or after
            // the start has them in its own copy of the segment, which stays as it is where nothing
            // is sent. So the stream begins at the start (strata verify's standbys, decision 0032).
            log.info("timeline={} a standby asked for {}, the start of the timeline's first segment: streaming from "
                    + "the timeline's start {}", timeline.id(), from, begin);
            from = begin;
        }
        if (from.isBefore(begin)) {
            error(ctx, "58P01", "requested starting point " + from + " is before the WAL held for timeline "
                    + timeline.id() + ", which starts at " + begin);
            return;
        }
        if (from.isBefore(retained)) {
            // As PostgreSQL says when a standby asks for a recycled segment.
            error(ctx, "58P01", "requested WAL segment at " + from + " has already been removed: timeline "
                    + timeline.id() + " holds WAL from " + retained + " (the pageserver and every safekeeper had it"
                    + (timeline.offloading() ? ", and object storage holds it only below " + timeline.offloadedLsn() : "")
                    + ")");
            return;
        }
        if (from.isAfter(end)) {
            error(ctx, "58P01", "requested starting point " + from + " is ahead of the WAL committed on this safekeeper, "
                    + "which ends at " + end);
            return;
        }
        state = State.STREAMING;
        ctx.writeAndFlush(new BackendMessage.CopyBothResponse((byte) 0, List.of()));
        sender = new WalSendLoop(ctx.channel(), timeline, from, config);
        log.info("timeline={} streaming to {} from {}", timeline.id(), ctx.channel().remoteAddress(), from);
    }

    private void streaming(ChannelHandlerContext ctx, FrontendMessage msg) {
        switch (msg) {
            case FrontendMessage.CopyData d -> {
                ReplicationMessage m = ReplicationMessage.decode(d.data());
                switch (m) {
                    case ReplicationMessage.StandbyStatusUpdate u -> {
                        sender.onStatus(u);
                        if (pageserver && u.flush().isValid()) {
                            timeline.advanceRemoteConsistentLsn(u.flush());
                        }
                    }
                    case ReplicationMessage.HotStandbyFeedback f -> { }
                    default -> fatal(ctx, ProtocolException.PROTOCOL_VIOLATION,
                            "unexpected " + m.getClass().getSimpleName() + " from a replication client");
                }
            }
            case FrontendMessage.CopyDone done -> {
                sender.stop();
                ctx.write(BackendMessage.CopyDone.INSTANCE);
                complete(ctx, "START_STREAMING");
                state = State.READY;
            }
            case FrontendMessage.Terminate t -> ctx.close();
            default -> fatal(ctx, ProtocolException.PROTOCOL_VIOLATION,
                    "unexpected " + msg.getClass().getSimpleName() + " while streaming");
        }
    }

    private static Optional<TimelineId> timelineId(FrontendMessage.StartupMessage s) {
        String direct = s.parameters().get("timeline_id");
        String options = s.parameters().get("options");
        String hex = direct;
        if (hex == null && options != null) {
            Matcher m = OPTION.matcher(options);
            if (m.find()) {
                hex = m.group(1);
            }
        }
        if (hex == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(TimelineId.parse(hex));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    private static void complete(ChannelHandlerContext ctx, String tag) {
        ctx.write(new BackendMessage.CommandComplete(tag));
        ctx.writeAndFlush(BackendMessage.ReadyForQuery.IDLE);
    }

    private static void error(ChannelHandlerContext ctx, String sqlState, String message) {
        ctx.write(BackendMessage.ErrorResponse.of("ERROR", sqlState, message));
        ctx.writeAndFlush(BackendMessage.ReadyForQuery.IDLE);
    }

    private void fatal(ChannelHandlerContext ctx, String sqlState, String message) {
        state = State.CLOSED;
        log.info("walsender connection from {} refused: {}", ctx.channel().remoteAddress(), message);
        ctx.writeAndFlush(BackendMessage.ErrorResponse.of("FATAL", sqlState, message)).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (state == State.CLOSED) {
            return;
        }
        if (cause instanceof ProtocolException pe) {
            fatal(ctx, pe.sqlState(), pe.getMessage());
        } else if (cause instanceof ReadTimeoutException) {
            fatal(ctx, "57014", "terminating connection: no complete message received for "
                    + idleTimeout.toMillis() + " ms (idle timeout)");
        } else {
            log.warn("walsender connection from {} failed", ctx.channel().remoteAddress(), cause);
            fatal(ctx, "XX000", "internal error: " + cause.getMessage());
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        state = State.CLOSED;
        if (sender != null) {
            sender.stop();
        }
    }
}
