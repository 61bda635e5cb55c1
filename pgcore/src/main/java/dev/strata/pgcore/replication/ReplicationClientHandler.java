package dev.strata.pgcore.replication;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.protocol.FrontendMessage;
import dev.strata.pgcore.protocol.auth.ClientAuthentication;
import dev.strata.pgcore.protocol.replication.ReplicationCommands;
import dev.strata.pgcore.protocol.replication.ReplicationMessage;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The replication client's state machine: startup, authentication, IDENTIFY_SYSTEM,
 * START_REPLICATION, streaming. Protocol logic only; the codec turns bytes into messages.
 */
final class ReplicationClientHandler extends SimpleChannelInboundHandler<BackendMessage> {

    private enum State { AUTHENTICATING, AWAIT_READY, IDENTIFYING, STARTING, STREAMING, CLOSED }

    private final ReplicationClient.Options options;
    private final Function<IdentifySystem, Lsn> startAt;
    private final ReplicationClient.Listener listener;
    private final CompletableFuture<Void> started;
    private State state = State.AUTHENTICATING;
    private final ClientAuthentication auth;
    private final List<byte[]> identifyRow = new ArrayList<>();
    private IdentifySystem system;
    private Lsn startLsn;
    private volatile boolean closing;
    private boolean closedReported;

    ReplicationClientHandler(ReplicationClient.Options options, Function<IdentifySystem, Lsn> startAt,
                             ReplicationClient.Listener listener, CompletableFuture<ReplicationClient> started) {
        this.options = options;
        this.startAt = startAt;
        this.listener = listener;
        this.auth = new ClientAuthentication(options.user(), options.password(), options.passwordPolicy());
        this.started = new CompletableFuture<>();
        this.started.whenComplete((v, e) -> {
            if (e != null) {
                started.completeExceptionally(e);
            } else {
                started.complete(null);
            }
        });
    }

    void closing() {
        closing = true;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", options.user());
        params.put("replication", "true");
        params.put("application_name", options.applicationName());
        if (options.startupOptions() != null && !options.startupOptions().isEmpty()) {
            params.put("options", options.startupOptions());
        }
        ctx.writeAndFlush(FrontendMessage.StartupMessage.of(params));
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, BackendMessage msg) {
        if (msg instanceof BackendMessage.ErrorResponse err) {
            fail(ctx, new ReplicationException(options + ": server error " + err.code() + ": " + err.message(), err.code()));
            return;
        }
        if (msg instanceof BackendMessage.NoticeResponse || msg instanceof BackendMessage.ParameterStatus
                || msg instanceof BackendMessage.BackendKeyData) {
            return;
        }
        switch (state) {
            case AUTHENTICATING -> authenticate(ctx, msg);
            case AWAIT_READY -> {
                if (msg instanceof BackendMessage.ReadyForQuery) {
                    state = State.IDENTIFYING;
                    ctx.writeAndFlush(new FrontendMessage.Query(ReplicationCommands.identifySystem()));
                }
            }
            case IDENTIFYING -> identify(ctx, msg);
            case STARTING -> {
                if (msg instanceof BackendMessage.CopyBothResponse) {
                    state = State.STREAMING;
                    listener.onStreaming(system, startLsn);
                    started.complete(null);
                } else if (!(msg instanceof BackendMessage.CommandComplete)) {
                    fail(ctx, new ReplicationException(options + ": unexpected " + msg.getClass().getSimpleName()
                            + " in answer to START_REPLICATION", (Throwable) null));
                }
            }
            case STREAMING -> stream(ctx, msg);
            case CLOSED -> { }
        }
    }

    private void authenticate(ChannelHandlerContext ctx, BackendMessage msg) {
        if (!(msg instanceof BackendMessage.Authentication request)) {
            fail(ctx, new ReplicationException(options + ": unexpected " + msg.getClass().getSimpleName()
                    + " during authentication", (Throwable) null));
            return;
        }
        auth.reply(request).ifPresent(ctx::writeAndFlush);
        if (auth.isAuthenticated()) {
            state = State.AWAIT_READY;
        }
    }

    private void identify(ChannelHandlerContext ctx, BackendMessage msg) {
        switch (msg) {
            case BackendMessage.RowDescription rd -> { }
            case BackendMessage.DataRow row -> {
                identifyRow.clear();
                identifyRow.addAll(row.values());
            }
            case BackendMessage.CommandComplete cc -> { }
            case BackendMessage.ReadyForQuery rfq -> {
                if (identifyRow.size() < 3 || identifyRow.get(0) == null || identifyRow.get(1) == null || identifyRow.get(2) == null) {
                    fail(ctx, new ReplicationException(options + ": malformed IDENTIFY_SYSTEM answer", (Throwable) null));
                    return;
                }
                try {
                    system = new IdentifySystem(
                            Long.parseUnsignedLong(text(identifyRow.get(0))),
                            Integer.parseInt(text(identifyRow.get(1))),
                            Lsn.parse(text(identifyRow.get(2))));
                    startLsn = startAt.apply(system);
                } catch (RuntimeException e) {
                    fail(ctx, e instanceof ReplicationException re ? re
                            : new ReplicationException(options + ": cannot start replication: " + e.getMessage(), e));
                    return;
                }
                state = State.STARTING;
                ctx.writeAndFlush(new FrontendMessage.Query(ReplicationCommands.startPhysical(options.slot(), startLsn,
                        system.timeline())));
            }
            default -> { }
        }
    }

    private void stream(ChannelHandlerContext ctx, BackendMessage msg) {
        if (msg instanceof BackendMessage.CopyData data) {
            ReplicationMessage m = ReplicationMessage.decode(data.data());
            switch (m) {
                case ReplicationMessage.XLogData x -> {
                    if (!listener.onWal(x.walStart(), x.payload(), x.walEnd())) {
                        ctx.channel().config().setAutoRead(false);
                    }
                }
                case ReplicationMessage.PrimaryKeepalive k -> listener.onKeepalive(k.walEnd(), k.replyRequested());
                default -> fail(ctx, new ReplicationException(options + ": unexpected " + m.getClass().getSimpleName()
                        + " from the server", (Throwable) null));
            }
        } else if (msg instanceof BackendMessage.CopyDone) {
            // The server ended the stream (e.g. its timeline ended): we end ours.
            ctx.writeAndFlush(new FrontendMessage.CopyDone());
            ctx.close();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (state == State.STREAMING) {
            Lsn ack = listener.onReadBatchEnd();
            if (ack != null) {
                var update = new ReplicationMessage.StandbyStatusUpdate(ack, ack, Lsn.INVALID,
                        dev.strata.pgcore.protocol.replication.PgTimestamp.now(), false);
                ctx.writeAndFlush(new FrontendMessage.CopyData(update.encode()));
            }
        }
        ctx.fireChannelReadComplete();
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private void fail(ChannelHandlerContext ctx, Throwable cause) {
        started.completeExceptionally(cause);
        reportClosed(cause);
        state = State.CLOSED;
        ctx.close();
    }

    private void reportClosed(Throwable cause) {
        if (!closedReported) {
            closedReported = true;
            listener.onClosed(cause);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail(ctx, cause instanceof ReplicationException ? cause
                : new ReplicationException(options + ": " + cause.getMessage(), cause));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        ReplicationException cause = new ReplicationException(options + ": connection closed by the server", (Throwable) null);
        started.completeExceptionally(cause);
        reportClosed(closing ? null : cause);
        state = State.CLOSED;
    }
}
