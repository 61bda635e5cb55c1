package dev.strata.safekeeper.http;

import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Primary;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.server.exceptions.response.Error;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.ErrorResponseProcessor;
import jakarta.inject.Singleton;
import java.util.stream.Collectors;

/**
 * Gives the errors Micronaut produces itself (malformed JSON, a value of the wrong type, a
 * missing query parameter, a body over the size limit, an unknown path) the same JSON shape as
 * {@link ErrorMapping}'s: {@code {"error": kind, "message": text}} with an {@link ErrorKind}
 * from the status (docs/safekeeper.md), so a client parses every error one way.
 */
@Requires(property = "strata.service", value = "safekeeper")
@Primary
@Singleton
final class JsonErrors implements ErrorResponseProcessor<Dto.Error> {

    @Override
    public MutableHttpResponse<Dto.Error> processResponse(ErrorContext context, MutableHttpResponse<?> base) {
        String kind = ErrorKind.ofStatus(base.getStatus().getCode()).code();
        String message = context.getErrors().stream().map(Error::getMessage).collect(Collectors.joining("; "));
        if (message.isEmpty()) {
            message = base.getStatus().getReason();
        }
        return base.contentType(MediaType.APPLICATION_JSON_TYPE).body(new Dto.Error(kind, message));
    }
}
