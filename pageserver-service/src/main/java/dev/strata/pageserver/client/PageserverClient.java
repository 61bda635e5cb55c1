package dev.strata.pageserver.client;

import dev.strata.pageserver.basebackup.BasebackupBase;
import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pageserver.pageservice.ClientFrame;
import dev.strata.pageserver.pageservice.PageCodec;
import dev.strata.pageserver.pageservice.PageProtocol;
import dev.strata.pageserver.pageservice.PageRequest;
import dev.strata.pageserver.pageservice.PageResponse;
import dev.strata.pageserver.timeline.TimelineException;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Client of the page service (one TCP connection). Blocking calls, plus {@code *Async}
 * variants that pipeline: many requests in flight, answers matched by request id. A failed
 * request throws {@link TimelineException} with the server's kind and message; the connection
 * stays usable. Thread-safe.
 *
 * <p>The connection authenticates when it opens: the constructor sends AUTHENTICATE with the
 * caller's service token and waits for the answer, so a refused token fails there (kind
 * {@code UNAUTHENTICATED} or {@code FORBIDDEN}, with the server's reason) rather than at the
 * first request.
 */
public final class PageserverClient implements AutoCloseable {

    /** Answers later than the request's wait plus this are a client-side timeout. */
    private static final long SLACK_MILLIS = 30_000;

    private final Socket socket;
    private final OutputStream out;
    private final DataInputStream in;
    private final Thread reader;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, Pending> pending = new ConcurrentHashMap<>();
    private volatile int waitMillis = 0; // 0: server default
    private volatile IOException broken;

    private record Pending(CompletableFuture<PageResponse> future, OutputStream sink) {
    }

    /**
     * Connects and authenticates with {@code token} (scope {@code pageserverapi}, or a compute's
     * token, which reads only its own timeline).
     */
    public PageserverClient(String host, int port, String token) {
        try {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), 5000);
            out = new BufferedOutputStream(socket.getOutputStream(), 64 << 10);
            in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 256 << 10));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot connect to page service " + host + ":" + port, e);
        }
        reader = Thread.ofPlatform().daemon().name("pageserver-client-" + port).start(this::readLoop);
        try {
            await(send(new ClientFrame.Authenticate(ids.incrementAndGet(), token), null));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The wait for WAL every later request asks for (0: the server's default, 30 s). */
    public PageserverClient withWait(Duration wait) {
        this.waitMillis = (int) Math.min(wait.toMillis(), PageProtocol.MAX_WAIT_MILLIS);
        return this;
    }

    public CompletableFuture<byte[]> getPageAsync(TimelineId tl, Lsn lsn, int spcOid, int dbOid, int relNumber, int fork,
                                                  int blockNo) {
        return send(new PageRequest.GetPage(ids.incrementAndGet(), tl, lsn, waitMillis, spcOid, dbOid, relNumber, fork,
                blockNo), null).thenApply(r -> ((PageResponse.Page) r).page());
    }

    /** The page at {@code lsn} (INVALID: the last record LSN). */
    public byte[] getPage(TimelineId tl, Lsn lsn, int spcOid, int dbOid, int relNumber, int fork, int blockNo) {
        return await(getPageAsync(tl, lsn, spcOid, dbOid, relNumber, fork, blockNo));
    }

    /** Size of the fork in blocks at {@code lsn}; -1 if it does not exist there. */
    public long relationSize(TimelineId tl, Lsn lsn, int spcOid, int dbOid, int relNumber, int fork) {
        return ((PageResponse.RelSize) await(send(new PageRequest.RelSize(ids.incrementAndGet(), tl, lsn, waitMillis,
                spcOid, dbOid, relNumber, fork), null))).blocks();
    }

    public List<DbDirectory.Db> listDatabases(TimelineId tl, Lsn lsn) {
        return ((PageResponse.Databases) await(send(new PageRequest.ListDatabases(ids.incrementAndGet(), tl, lsn,
                waitMillis), null))).databases();
    }

    public List<RelDirectory.RelFork> listRelations(TimelineId tl, Lsn lsn, int spcOid, int dbOid) {
        return ((PageResponse.Relations) await(send(new PageRequest.ListRelations(ids.incrementAndGet(), tl, lsn,
                waitMillis, spcOid, dbOid), null))).relations();
    }

    /** Waits until the timeline has ingested WAL up to {@code lsn}; returns its last record LSN then. */
    public Lsn waitForLsn(TimelineId tl, Lsn lsn, Duration wait) {
        int w = (int) Math.min(Math.max(1, wait.toMillis()), PageProtocol.MAX_WAIT_MILLIS);
        return ((PageResponse.LsnReached) await(send(new PageRequest.WaitLsn(ids.incrementAndGet(), tl, lsn, w),
                null))).lastRecordLsn();
    }

    /** Streams the (full) basebackup tar into {@code sink}; returns its LSN and prev record LSN. */
    public PageResponse.BasebackupEnd basebackup(TimelineId tl, Lsn lsn, OutputStream sink) {
        return basebackup(tl, lsn, null, sink);
    }

    /**
     * Streams the basebackup tar into {@code sink}; returns its LSN and prev record LSN. With a
     * {@code base} (a directory the caller holds, cleanly shut down at that timeline and LSN; null:
     * none) the tar is incremental over it when the pageserver can tell what differs: its first
     * entry is then {@link dev.strata.pageserver.basebackup.IncrementalFormat#MARKER}; otherwise
     * it is a full basebackup (docs/basebackup.md, "Incremental basebackups").
     */
    public PageResponse.BasebackupEnd basebackup(TimelineId tl, Lsn lsn, BasebackupBase base, OutputStream sink) {
        return (PageResponse.BasebackupEnd) await(send(new PageRequest.Basebackup(ids.incrementAndGet(), tl, lsn,
                waitMillis, base), sink));
    }

    private CompletableFuture<PageResponse> send(ClientFrame r, OutputStream sink) {
        CompletableFuture<PageResponse> f = new CompletableFuture<>();
        IOException b = broken;
        if (b != null) {
            f.completeExceptionally(b);
            return f;
        }
        pending.put(r.requestId(), new Pending(f, sink));
        byte[] frame;
        try {
            frame = PageCodec.encode(r);
        } catch (IllegalArgumentException e) {
            pending.remove(r.requestId());
            f.completeExceptionally(new TimelineException(TimelineException.Kind.BAD_REQUEST, e.getMessage()));
            return f;
        }
        try {
            synchronized (out) {
                out.write(frame);
                out.flush();
            }
        } catch (IOException e) {
            pending.remove(r.requestId());
            f.completeExceptionally(e);
        }
        return f;
    }

    /** Sends many requests before flushing: for pipelined callers (the benchmark). */
    public CompletableFuture<byte[]>[] getPagesAsync(TimelineId tl, Lsn lsn, int spcOid, int dbOid, int relNumber,
                                                     int fork, int[] blocks) {
        @SuppressWarnings("unchecked")
        CompletableFuture<byte[]>[] result = new CompletableFuture[blocks.length];
        synchronized (out) {
            try {
                for (int i = 0; i < blocks.length; i++) {
                    PageRequest r = new PageRequest.GetPage(ids.incrementAndGet(), tl, lsn, waitMillis, spcOid, dbOid,
                            relNumber, fork, blocks[i]);
                    CompletableFuture<PageResponse> f = new CompletableFuture<>();
                    pending.put(r.requestId(), new Pending(f, null));
                    result[i] = f.thenApply(x -> ((PageResponse.Page) x).page());
                    out.write(PageCodec.encodeRequest(r));
                }
                out.flush();
            } catch (IOException e) {
                fail(e);
            }
        }
        return result;
    }

    private <T> T await(CompletableFuture<T> f) {
        try {
            return f.get((waitMillis == 0 ? PageProtocol.DEFAULT_WAIT_MILLIS : waitMillis) + SLACK_MILLIS,
                    TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof TimelineException t) {
                throw new TimelineException(t.kind(), t.getMessage(), t);
            }
            throw new UncheckedIOException("page service connection failed: " + c.getMessage(),
                    c instanceof IOException io ? io : new IOException(c));
        } catch (TimeoutException e) {
            throw new UncheckedIOException(new IOException("page service did not answer in time"));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private void readLoop() {
        try {
            while (true) {
                long length = Integer.toUnsignedLong(in.readInt());
                if (length < 5 || length > PageProtocol.MAX_RESPONSE_FRAME) {
                    throw new IOException("response frame length " + length + " is outside 5.." + PageProtocol.MAX_RESPONSE_FRAME);
                }
                byte[] frame = new byte[(int) length];
                in.readFully(frame);
                PageResponse r = PageCodec.decodeResponse(ByteBuffer.wrap(frame));
                if (r instanceof PageResponse.BasebackupChunk c) {
                    Pending p = pending.get(c.requestId());
                    if (p != null && p.sink() != null) {
                        try {
                            p.sink().write(c.bytes());
                        } catch (IOException e) {
                            pending.remove(c.requestId());
                            p.future().completeExceptionally(e);
                        }
                    }
                    continue;
                }
                if (r.requestId() == 0 && r instanceof PageResponse.Error e) {
                    throw new IOException("page service closed the connection: " + e.message());
                }
                Pending p = pending.remove(r.requestId());
                if (p == null) {
                    continue; // a request we gave up on
                }
                if (r instanceof PageResponse.Error e) {
                    p.future().completeExceptionally(new TimelineException(TimelineException.Kind.ofCode(e.code()), e.message()));
                } else {
                    p.future().complete(r);
                }
            }
        } catch (IOException | RuntimeException e) {
            fail(e instanceof IOException io ? io : new IOException(e.getMessage(), e));
        }
    }

    private void fail(IOException e) {
        broken = e;
        for (Integer id : pending.keySet()) {
            Pending p = pending.remove(id);
            if (p != null) {
                p.future().completeExceptionally(e);
            }
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        try {
            reader.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
