package dev.strata.safekeeper.http;

import dev.strata.safekeeper.client.SafekeeperApiException;
import dev.strata.safekeeper.control.ControlFileException;
import dev.strata.safekeeper.election.TermRefusedException;
import dev.strata.safekeeper.node.DonorRefusedException;
import dev.strata.safekeeper.node.TimelineExistsException;
import dev.strata.safekeeper.node.TimelineNotFoundException;
import dev.strata.safekeeper.wal.WalStoreFailedException;
import java.io.UncheckedIOException;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps the safekeeper's errors to an {@link ErrorKind} (the {@code error} field and the HTTP
 * status) with a JSON body naming the problem: bad input 400, unknown timeline 404, a refused
 * term or an existing timeline 409, an unreachable peer 502, a full disk 507, a failed fsync or
 * a damaged control file 500, anything unexpected 500 (logged here, where it is handled).
 */
@Requires(property = "strata.service", value = "safekeeper")
@Produces
@Singleton
@Requires(classes = {RuntimeException.class, ExceptionHandler.class})
public final class ErrorMapping implements ExceptionHandler<RuntimeException, HttpResponse<Dto.Error>> {

    private static final Logger log = LoggerFactory.getLogger(ErrorMapping.class);

    @Override
    public HttpResponse<Dto.Error> handle(HttpRequest request, RuntimeException e) {
        ErrorKind kind = kindOf(e);
        switch (kind) {
            case INTERNAL, STORAGE_FAILED, CORRUPT -> log.error("{} {} failed", request.getMethod(), request.getPath(), e);
            case DISK_FULL -> log.warn("{} {} failed: {}", request.getMethod(), request.getPath(), e.getMessage());
            case FORBIDDEN -> log.info("{} {} from {} refused: {}", request.getMethod(), request.getPath(),
                    request.getRemoteAddress(), e.getMessage());
            case BUSY -> log.info("{} {} refused: {}", request.getMethod(), request.getPath(), e.getMessage());
            case BAD_REQUEST, UNAUTHENTICATED, NOT_FOUND, TERM_REFUSED, CONFLICT, PEER_UNAVAILABLE -> {
                // the caller's problem, answered in the body
            }
        }
        return HttpResponse.<Dto.Error>status(HttpStatus.valueOf(kind.httpStatus())).body(new Dto.Error(kind.code(), e.getMessage()));
    }

    static ErrorKind kindOf(RuntimeException e) {
        return switch (e) {
            case BusyException x -> ErrorKind.BUSY;
            case IllegalArgumentException x -> ErrorKind.BAD_REQUEST;
            case TimelineNotFoundException x -> ErrorKind.NOT_FOUND;
            case DonorRefusedException x -> ErrorKind.FORBIDDEN;
            case TermRefusedException x -> ErrorKind.TERM_REFUSED;
            case TimelineExistsException x -> ErrorKind.CONFLICT;
            case SafekeeperApiException x -> ErrorKind.PEER_UNAVAILABLE;
            case ControlFileException x -> ErrorKind.CORRUPT;
            case WalStoreFailedException x -> ErrorKind.STORAGE_FAILED;
            case UncheckedIOException x when isDiskFull(x) -> ErrorKind.DISK_FULL;
            default -> ErrorKind.INTERNAL;
        };
    }

    private static boolean isDiskFull(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains("No space left on device")) {
                return true;
            }
        }
        return false;
    }
}
