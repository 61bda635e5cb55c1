package dev.strata.pgcore.net;

import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.protocol.BackendMessageEncoder;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The most connections one listener holds at once. Used from a server's
 * {@code ChannelInitializer}: {@link #admit} counts the new channel (until it closes) and says
 * whether it is within the limit; a listener refuses one that is not with its own protocol's
 * error ({@link #refusePostgres} for the PostgreSQL protocol), then closes it. Existing
 * connections are not touched. A refused channel counts until it is closed, so a flood of
 * connections cannot slip in while the refusals are being written.
 */
public final class ConnectionLimit {

    /** SQLSTATE too_many_connections, what PostgreSQL answers past max_connections. */
    public static final String TOO_MANY_CONNECTIONS = "53300";

    private final String listener;
    private final int max;
    private final AtomicInteger open = new AtomicInteger();

    /**
     * @param listener what the listener is, for the error message ("safekeeper walsender")
     * @param max      connections held at once, at least 1
     */
    public ConnectionLimit(String listener, int max) {
        if (max < 1) {
            throw new IllegalArgumentException(listener + ": connection limit must be at least 1, got " + max);
        }
        this.listener = listener;
        this.max = max;
    }

    /** Counts {@code ch} until it closes; false if it is over the limit (refuse and close it). */
    public boolean admit(Channel ch) {
        int n = open.incrementAndGet();
        ch.closeFuture().addListener(f -> open.decrementAndGet());
        return n <= max;
    }

    /** The message a refused client gets. */
    public String refusal() {
        return "too many connections to the " + listener + " (limit " + max + ")";
    }

    /**
     * Refuses a PostgreSQL-protocol client before reading a byte: a FATAL ErrorResponse 53300
     * (libpq shows it whatever it sent first, as it does for PostgreSQL's own refusal), then close.
     */
    public void refusePostgres(Channel ch) {
        ch.pipeline().addLast(new BackendMessageEncoder());
        ch.writeAndFlush(BackendMessage.ErrorResponse.of("FATAL", TOO_MANY_CONNECTIONS, refusal()))
                .addListener(ChannelFutureListener.CLOSE);
    }

    /** Connections counted now (refused ones until they are closed). */
    public int open() {
        return open.get();
    }

    public int max() {
        return max;
    }
}
