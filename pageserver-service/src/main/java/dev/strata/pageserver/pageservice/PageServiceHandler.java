package dev.strata.pageserver.pageservice;

import dev.strata.pageserver.timeline.StorageException;
import dev.strata.pageserver.timeline.TimelineException;
import dev.strata.pgcore.auth.AuthException;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenVerifier;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection of the page service. Requests are handed to the executor (reads touch disk)
 * in batches: the requests decoded from one socket read (a pipelining client sends many) go to
 * a worker together, at most {@link #BATCH} per task, and their answers come back to the event
 * loop as one task with one flush. That replaces two thread handoffs and a flush per request
 * by two per batch. Answers go back in completion order, matched by request id. At most
 * {@link PageProtocol#MAX_IN_FLIGHT} requests per connection are worked on; beyond that the
 * socket is not read. A request that fails gets an error frame and the connection lives on; a
 * frame that breaks the protocol gets an error frame (request id 0) and the connection is closed.
 *
 * <p>Authentication (docs/pageserver.md, "Authentication"): the first frame must be an
 * AUTHENTICATE whose token verifies with scope {@code pageserverapi} (every timeline) or
 * {@code compute} (its one timeline). Anything else first, a refused token, or a second
 * AUTHENTICATE gets an error frame and the connection is closed; no request is looked at
 * before. The signature is verified once per connection, on the event loop (one Ed25519 check:
 * up to a millisecond on a loaded machine, too much per GetPage); each request is then checked against the verified claims: its timeline
 * (a compute token names one) and the token's expiry, both cheap enough for every GetPage.
 */
final class PageServiceHandler extends SimpleChannelInboundHandler<ClientFrame> {

    private static final Logger log = LoggerFactory.getLogger(PageServiceHandler.class);

    /** Requests per executor task: large enough to amortise the handoffs, small enough to spread a burst over workers. */
    static final int BATCH = 16;
    /** Scopes whose tokens may open a connection. */
    static final Set<Scope> ACCEPTED = Set.of(Scope.PAGESERVER_API, Scope.COMPUTE);
    /**
     * How long after its {@code exp} a token still counts on an open connection: the clock skew
     * {@link TokenVerifier} tolerates at AUTHENTICATE, so both checks agree.
     */
    static final Duration EXPIRY_SKEW = Duration.ofSeconds(30);

    private final PageService service;
    private final PageServiceLanes lanes;
    private final TokenVerifier verifier;
    private int inFlight; // event loop only
    private List<PageRequest> pending = new ArrayList<>(); // event loop only: read, not yet dispatched
    private Claims claims; // event loop only: null until AUTHENTICATE succeeded
    private boolean refused; // event loop only: an error was sent and the connection is closing

    PageServiceHandler(PageService service, PageServiceLanes lanes, TokenVerifier verifier) {
        this.service = service;
        this.lanes = lanes;
        this.verifier = verifier;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ClientFrame frame) {
        if (refused) {
            return; // frames decoded from the same read as the refused one
        }
        if (frame instanceof ClientFrame.Authenticate a) {
            authenticate(ctx, a);
            return;
        }
        PageRequest request = (PageRequest) frame;
        if (claims == null) {
            refuse(ctx, 0, TimelineException.Kind.UNAUTHENTICATED, "authentication required: the first frame of a "
                    + "connection must be AUTHENTICATE (0x07) with a token; got request " + request.requestId());
            return;
        }
        if (claims.expiresAt().isPresent() && Instant.now().isAfter(claims.expiresAt().get().plus(EXPIRY_SKEW))) {
            refuse(ctx, 0, TimelineException.Kind.UNAUTHENTICATED, "the connection's token expired at "
                    + claims.expiresAt().get() + "; reconnect with a new one");
            return;
        }
        if (++inFlight >= PageProtocol.MAX_IN_FLIGHT) {
            ctx.channel().config().setAutoRead(false);
        }
        if (claims.timeline().isPresent() && !claims.timeline().get().equals(request.timeline())) {
            // Before any work, so nothing about the other timeline (not even whether it exists) leaks.
            reply(ctx, List.of(new PageResponse.Error(request.requestId(), TimelineException.Kind.FORBIDDEN.code(),
                    "this token is for timeline " + claims.timeline().get() + ", not " + request.timeline())));
            return;
        }
        if (request instanceof PageRequest.Basebackup) {
            dispatch(ctx, List.of(request)); // streams for long: never holds up a batch
            return;
        }
        if (service.mayWait(request)) {
            dispatch(ctx, List.of(request)); // waits for WAL on its own lane, not on a worker
            return;
        }
        pending.add(request);
        if (pending.size() >= BATCH) {
            dispatchPending(ctx);
        }
    }

    private void authenticate(ChannelHandlerContext ctx, ClientFrame.Authenticate a) {
        if (claims != null) {
            refuse(ctx, a.requestId(), TimelineException.Kind.BAD_REQUEST, "this connection is authenticated already;"
                    + " AUTHENTICATE is its first frame only");
            return;
        }
        try {
            claims = verifier.authorize(a.token(), ACCEPTED);
        } catch (AuthException e) {
            log.info("page service client {} refused ({}): {}", ctx.channel().remoteAddress(), e.reason(),
                    e.getMessage());
            refuse(ctx, a.requestId(), e.reason().unauthenticated() ? TimelineException.Kind.UNAUTHENTICATED
                    : TimelineException.Kind.FORBIDDEN, e.getMessage());
            return;
        }
        log.debug("page service client {} authenticated as {} ({})", ctx.channel().remoteAddress(), claims.subject(),
                claims.scope().wireName());
        ctx.writeAndFlush(new PageResponse.Authenticated(a.requestId()));
    }

    /** Sends one error frame and closes; reads nothing more from this connection. */
    private void refuse(ChannelHandlerContext ctx, int requestId, TimelineException.Kind kind, String message) {
        refused = true;
        pending.clear();
        ctx.channel().config().setAutoRead(false);
        ctx.writeAndFlush(new PageResponse.Error(requestId, kind.code(), message))
                .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        dispatchPending(ctx);
        ctx.fireChannelReadComplete();
    }

    private void dispatchPending(ChannelHandlerContext ctx) {
        if (!pending.isEmpty()) {
            List<PageRequest> batch = pending;
            pending = new ArrayList<>();
            dispatch(ctx, batch);
        }
    }

    /** Hands a batch to its lane ({@link PageServiceLanes}): a lone basebackup or wait for WAL gets its own. */
    private void dispatch(ChannelHandlerContext ctx, List<PageRequest> batch) {
        PageRequest first = batch.get(0);
        try {
            if (batch.size() == 1 && first instanceof PageRequest.Basebackup) {
                lanes.basebackup(() -> work(ctx, batch));
            } else if (batch.size() == 1 && service.mayWait(first)) {
                lanes.waits().execute(() -> work(ctx, batch));
            } else {
                lanes.main().execute(() -> work(ctx, batch));
            }
        } catch (RejectedExecutionException | TimelineException e) {
            String why = e instanceof TimelineException t ? t.getMessage()
                    : "page service is at its limit of queued requests; retry";
            List<PageResponse> errors = new ArrayList<>(batch.size());
            for (PageRequest r : batch) {
                errors.add(new PageResponse.Error(r.requestId(), TimelineException.Kind.OVERLOADED.code(), why));
            }
            reply(ctx, errors);
        }
    }

    private void work(ChannelHandlerContext ctx, List<PageRequest> batch) {
        List<PageResponse> responses = new ArrayList<>(batch.size());
        for (PageRequest request : batch) {
            if (batch.size() > 1 && service.mayWait(request)) {
                dispatch(ctx, List.of(request)); // waits for WAL alone, not ahead of the others
            } else {
                responses.add(answer(ctx, request));
            }
        }
        if (!responses.isEmpty()) {
            reply(ctx, responses);
        }
    }

    private PageResponse answer(ChannelHandlerContext ctx, PageRequest request) {
        try {
            if (request instanceof PageRequest.Basebackup b) {
                try (ChunkStream out = new ChunkStream(ctx.channel(), b.requestId())) {
                    return service.basebackup(b, out);
                }
            }
            return service.answer(request);
        } catch (RuntimeException | IOException e) {
            return error(request.requestId(), e);
        }
    }

    static PageResponse.Error error(int requestId, Throwable e) {
        TimelineException.Kind kind = switch (e) {
            case TimelineException t -> t.kind();
            case IllegalArgumentException x -> TimelineException.Kind.BAD_REQUEST;
            case UnsupportedOperationException x -> TimelineException.Kind.UNSUPPORTED;
            case StorageException s when s.category() == StorageException.Category.MISSING -> TimelineException.Kind.NOT_FOUND;
            // S3 failed for a layer not on local disk: transient, the next request downloads again.
            case dev.strata.pageserver.layer.LayerDownloadException d -> TimelineException.Kind.UNAVAILABLE;
            default -> TimelineException.Kind.INTERNAL;
        };
        if (kind == TimelineException.Kind.INTERNAL) {
            log.error("page service request {} failed", requestId, e);
        }
        return new PageResponse.Error(requestId, kind.code(), String.valueOf(e.getMessage()));
    }

    /** Writes the answers of one batch with one flush; runs on the event loop (as one task if called off it). */
    private void reply(ChannelHandlerContext ctx, List<PageResponse> responses) {
        if (!ctx.executor().inEventLoop()) {
            ctx.executor().execute(() -> reply(ctx, responses));
            return;
        }
        int last = responses.size() - 1;
        for (int i = 0; i < last; i++) {
            ctx.write(responses.get(i), ctx.voidPromise());
        }
        int n = responses.size();
        // Writes complete in order: when the last is written, the whole batch is.
        ctx.writeAndFlush(responses.get(last)).addListener((ChannelFutureListener) f -> {
            inFlight -= n;
            if (inFlight < PageProtocol.MAX_IN_FLIGHT / 2 && !ctx.channel().config().isAutoRead()) {
                ctx.channel().config().setAutoRead(true);
            }
        });
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof io.netty.handler.codec.DecoderException && cause.getCause() != null
                && !(cause instanceof ProtocolException) ? cause.getCause() : cause;
        if (c instanceof ProtocolException) {
            log.info("page service client {} broke the protocol: {}", ctx.channel().remoteAddress(), c.getMessage());
            ctx.writeAndFlush(new PageResponse.Error(0, TimelineException.Kind.BAD_REQUEST.code(), c.getMessage()))
                    .addListener(ChannelFutureListener.CLOSE);
        } else {
            log.info("page service connection {} failed: {}", ctx.channel().remoteAddress(), c.toString());
            ctx.close();
        }
    }

    /** Basebackup bytes as chunk frames, waiting while the socket's buffer is full. */
    private static final class ChunkStream extends OutputStream {
        private final Channel channel;
        private final int requestId;
        private final byte[] buf = new byte[PageProtocol.BASEBACKUP_CHUNK_BYTES];
        private int used;

        ChunkStream(Channel channel, int requestId) {
            this.channel = channel;
            this.requestId = requestId;
        }

        @Override
        public void write(int b) throws IOException {
            if (used == buf.length) {
                send();
            }
            buf[used++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                if (used == buf.length) {
                    send();
                }
                int n = Math.min(len, buf.length - used);
                System.arraycopy(b, off, buf, used, n);
                used += n;
                off += n;
                len -= n;
            }
        }

        private void send() throws IOException {
            if (used == 0) {
                return;
            }
            if (!channel.isActive()) {
                throw new IOException("page service client went away during the basebackup");
            }
            ChannelFuture f = channel.writeAndFlush(new PageResponse.BasebackupChunk(requestId, java.util.Arrays.copyOf(buf, used)));
            used = 0;
            if (!channel.isWritable()) {
                try {
                    if (!f.await(60, TimeUnit.SECONDS)) {
                        throw new IOException("page service client did not read the basebackup for 60 s");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", e);
                }
            }
        }

        @Override
        public void close() throws IOException {
            send();
        }
    }
}
