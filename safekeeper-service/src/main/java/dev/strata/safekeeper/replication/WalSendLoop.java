package dev.strata.safekeeper.replication;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.protocol.replication.PgTimestamp;
import dev.strata.pgcore.protocol.replication.ReplicationMessage;
import dev.strata.safekeeper.timeline.Timeline;
import io.netty.channel.Channel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends one client a timeline's WAL from its start position, never beyond the servable end
 * (committed on a quorum and held here), on a virtual thread: reading segment files is disk
 * work and must not run on the event loop. Waits for the channel to become writable before
 * reading more (backpressure), and sends a keepalive whenever it has been quiet for the
 * configured interval, so a client never takes silence for a dead server.
 */
final class WalSendLoop {

    private static final Logger log = LoggerFactory.getLogger(WalSendLoop.class);

    private final Channel channel;
    private final Timeline timeline;
    private final WalSenderConfig config;
    private final Thread thread;
    private volatile boolean stopped;
    private volatile boolean replyRequested;
    private volatile ReplicationMessage.StandbyStatusUpdate lastStatus;

    WalSendLoop(Channel channel, Timeline timeline, Lsn start, WalSenderConfig config) {
        this.channel = channel;
        this.timeline = timeline;
        this.config = config;
        this.thread = Thread.ofVirtual().name("walsender-" + timeline.id()).start(() -> run(start));
    }

    void onStatus(ReplicationMessage.StandbyStatusUpdate status) {
        lastStatus = status;
        if (status.replyRequested()) {
            replyRequested = true;
        }
    }

    /** The client's last reported positions, or null. */
    ReplicationMessage.StandbyStatusUpdate lastStatus() {
        return lastStatus;
    }

    void stop() {
        stopped = true;
        thread.interrupt();
    }

    private void run(Lsn start) {
        Lsn pos = start;
        long lastSent = System.nanoTime();
        long keepaliveNanos = config.keepaliveInterval().toNanos();
        try {
            while (!stopped && channel.isActive()) {
                Lsn end = timeline.servableEnd();
                if (pos.isBefore(end)) {
                    awaitWritable();
                    byte[] wal = timeline.readWal(pos, (int) Math.min(config.maxChunk(), end.minus(pos)));
                    var x = new ReplicationMessage.XLogData(pos, end, PgTimestamp.now(), wal);
                    channel.writeAndFlush(new BackendMessage.CopyData(x.encode()));
                    pos = pos.plus(wal.length);
                    lastSent = System.nanoTime();
                    continue;
                }
                if (replyRequested || System.nanoTime() - lastSent >= keepaliveNanos) {
                    boolean ask = !replyRequested;
                    replyRequested = false;
                    var k = new ReplicationMessage.PrimaryKeepalive(end, PgTimestamp.now(), ask);
                    channel.writeAndFlush(new BackendMessage.CopyData(k.encode()));
                    lastSent = System.nanoTime();
                }
                timeline.awaitServable(pos, Math.min(200, config.keepaliveInterval().toMillis()));
            }
        } catch (InterruptedException e) {
            // stopped
        } catch (RuntimeException e) {
            if (!stopped) {
                log.warn("timeline={} walsender to {} failed at {}: {}", timeline.id(), channel.remoteAddress(), pos, e.toString());
                channel.writeAndFlush(BackendMessage.ErrorResponse.of("FATAL", "XX000",
                        "safekeeper cannot send WAL at " + pos + ": " + e.getMessage()));
                channel.close();
            }
        }
    }

    private void awaitWritable() throws InterruptedException {
        while (!channel.isWritable() && channel.isActive() && !stopped) {
            Thread.sleep(1);
        }
    }
}
