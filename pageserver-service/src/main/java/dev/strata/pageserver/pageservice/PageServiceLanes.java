package dev.strata.pageserver.pageservice;

import dev.strata.pageserver.timeline.TimelineException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The page service's executors, one per kind of work, so slow work cannot starve GetPage:
 * <ul>
 *   <li>{@code main}: GetPage, RelSize and lists at LSNs already ingested (the workers);</li>
 *   <li>{@code waits}: requests that wait for WAL first ({@link PageService#mayWait}); a wait
 *       blocks its thread up to the request's wait bound (30 s by default, 600 s at most), and
 *       with them on the workers a handful of computes ahead of ingest stopped every GetPage;</li>
 *   <li>{@code basebackups}: streamed for seconds and blocked by a slow reader, at most
 *       {@link PageServiceLimits#maxBasebackups()} at once (a permit each).</li>
 * </ul>
 * A request a lane cannot take is answered OVERLOADED by the handler, never queued without bound.
 */
final class PageServiceLanes {

    private final ThreadPoolExecutor main;
    private final ThreadPoolExecutor waits;
    private final ThreadPoolExecutor basebackups;
    private final Semaphore basebackupPermits;
    private final PageServiceLimits limits;

    PageServiceLanes(ThreadPoolExecutor main, PageServiceLimits limits) {
        this.main = main;
        this.limits = limits;
        this.waits = pool("pageservice-wait-", limits.maxWaiting(), PageServiceLimits.WAIT_QUEUE);
        this.basebackups = pool("pageservice-basebackup-", limits.maxBasebackups(), limits.maxBasebackups());
        this.basebackupPermits = new Semaphore(limits.maxBasebackups());
    }

    private static ThreadPoolExecutor pool(String name, int threads, int queue) {
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor p = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(queue), r -> Thread.ofPlatform().daemon().name(name + n.incrementAndGet()).unstarted(r));
        p.allowCoreThreadTimeOut(true); // idle wait threads go away
        return p;
    }

    Executor main() {
        return main;
    }

    Executor waits() {
        return waits;
    }

    /**
     * Runs a basebackup on its lane if a permit is free; the task gives the permit back when it
     * ends. Throws OVERLOADED if {@link PageServiceLimits#maxBasebackups()} are streaming.
     */
    void basebackup(Runnable task) {
        if (!basebackupPermits.tryAcquire()) {
            throw new TimelineException(TimelineException.Kind.OVERLOADED, "page service is already streaming "
                    + limits.maxBasebackups() + " basebackups (its limit); retry shortly");
        }
        try {
            basebackups.execute(() -> {
                try {
                    task.run();
                } finally {
                    basebackupPermits.release();
                }
            });
        } catch (RejectedExecutionException e) {
            basebackupPermits.release();
            throw e;
        }
    }

    /** Basebackups streaming now. */
    int basebackupsInFlight() {
        return limits.maxBasebackups() - basebackupPermits.availablePermits();
    }

    /** Requests waiting for WAL now (running on a wait thread or queued for one). */
    int waiting() {
        return waits.getActiveCount() + waits.getQueue().size();
    }

    void shutdownNow() {
        waits.shutdownNow();
        basebackups.shutdownNow();
    }

    void awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        waits.awaitTermination(timeout, unit);
        basebackups.awaitTermination(timeout, unit);
    }
}
