package dev.strata.pageserver.pageservice;

import dev.strata.pageserver.timeline.StorageException;
import dev.strata.pageserver.timeline.TimelineException;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection of the page service. Requests are handed to the executor (reads touch disk);
 * answers go back in completion order, matched by request id. At most
 * {@link PageProtocol#MAX_IN_FLIGHT} requests per connection are worked on; beyond that the
 * socket is not read. A request that fails gets an error frame and the connection lives on; a
 * frame that breaks the protocol gets an error frame (request id 0) and the connection is closed.
 */
final class PageServiceHandler extends SimpleChannelInboundHandler<PageRequest> {

    private static final Logger log = LoggerFactory.getLogger(PageServiceHandler.class);

    private final PageService service;
    private final Executor executor;
    private int inFlight; // event loop only

    PageServiceHandler(PageService service, Executor executor) {
        this.service = service;
        this.executor = executor;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, PageRequest request) {
        if (++inFlight >= PageProtocol.MAX_IN_FLIGHT) {
            ctx.channel().config().setAutoRead(false);
        }
        try {
            executor.execute(() -> work(ctx, request));
        } catch (RejectedExecutionException e) {
            reply(ctx, new PageResponse.Error(request.requestId(), TimelineException.Kind.OVERLOADED.code(),
                    "page service is at its limit of queued requests; retry"));
        }
    }

    private void work(ChannelHandlerContext ctx, PageRequest request) {
        PageResponse response;
        try {
            if (request instanceof PageRequest.Basebackup b) {
                try (ChunkStream out = new ChunkStream(ctx.channel(), b.requestId())) {
                    response = service.basebackup(b, out);
                }
            } else {
                response = service.answer(request);
            }
        } catch (RuntimeException | IOException e) {
            response = error(request.requestId(), e);
        }
        reply(ctx, response);
    }

    static PageResponse.Error error(int requestId, Throwable e) {
        TimelineException.Kind kind = switch (e) {
            case TimelineException t -> t.kind();
            case IllegalArgumentException x -> TimelineException.Kind.BAD_REQUEST;
            case UnsupportedOperationException x -> TimelineException.Kind.UNSUPPORTED;
            case StorageException s when s.category() == StorageException.Category.MISSING -> TimelineException.Kind.NOT_FOUND;
            default -> TimelineException.Kind.INTERNAL;
        };
        if (kind == TimelineException.Kind.INTERNAL) {
            log.error("page service request {} failed", requestId, e);
        }
        return new PageResponse.Error(requestId, kind.code(), String.valueOf(e.getMessage()));
    }

    private void reply(ChannelHandlerContext ctx, PageResponse response) {
        ctx.writeAndFlush(response).addListener((ChannelFutureListener) f -> {
            // listeners run on the event loop
            if (--inFlight < PageProtocol.MAX_IN_FLIGHT / 2 && !ctx.channel().config().isAutoRead()) {
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
