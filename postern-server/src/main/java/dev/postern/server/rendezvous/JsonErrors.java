package dev.postern.server.rendezvous;

import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.ContentTooLargeException;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.util.Exceptions;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.server.HttpStatusException;
import com.linecorp.armeria.server.ServerErrorHandler;
import com.linecorp.armeria.server.ServiceConfig;
import com.linecorp.armeria.server.ServiceRequestContext;
import dev.postern.core.metrics.Counters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Every error the HTTP server itself produces (no route, wrong method, body too large) as JSON, never HTML. */
final class JsonErrors implements ServerErrorHandler {

    private static final Logger log = LoggerFactory.getLogger("postern.rendezvous");

    private final Counters<RendezvousCounter> counters;
    private final long maxRequestBytes;

    JsonErrors(Counters<RendezvousCounter> counters, long maxRequestBytes) {
        this.counters = counters;
        this.maxRequestBytes = maxRequestBytes;
    }

    @Override
    public HttpResponse onServiceException(ServiceRequestContext ctx, Throwable cause) {
        if (cause instanceof ContentTooLargeException) {
            return render(HttpStatus.REQUEST_ENTITY_TOO_LARGE, ctx.method() + " " + ctx.path(), null).toHttpResponse();
        }
        if (cause instanceof HttpStatusException e) {
            return render(e.httpStatus(), ctx.method() + " " + ctx.path(), null).toHttpResponse();
        }
        if (Exceptions.isExpected(cause) || Exceptions.isStreamCancelling(cause)) {
            // The client went away mid-request (closed, reset, cancelled): its business, not a server error, and no
            // reason for a log line each (a flood of them would be a flood of lines).
            log.debug("{} {} abandoned by the client: {}", ctx.method(), ctx.path(), cause.toString());
            counters.increment(RendezvousCounter.HTTP_CLIENT_ABORTED);
            return JsonReply.error(HttpStatus.BAD_REQUEST, "request abandoned").toHttpResponse();
        }
        log.error("{} {} failed", ctx.method(), ctx.path(), cause);
        counters.increment(RendezvousCounter.HTTP_SERVER_ERROR);
        return JsonReply.error(HttpStatus.INTERNAL_SERVER_ERROR, "internal error").toHttpResponse();
    }

    @Override
    public AggregatedHttpResponse renderStatus(ServiceRequestContext ctx, ServiceConfig config, RequestHeaders headers,
            HttpStatus status, String description, Throwable cause) {
        String request = headers == null ? "request" : headers.method() + " " + headers.path();
        return render(status, request, description);
    }

    @Override
    public AggregatedHttpResponse onProtocolViolation(ServiceConfig config, RequestHeaders headers, HttpStatus status,
            String description, Throwable cause) {
        return renderStatus(null, config, headers, status, description, cause);
    }

    private AggregatedHttpResponse render(HttpStatus status, String request, String description) {
        counters.increment(status.isServerError() ? RendezvousCounter.HTTP_SERVER_ERROR : RendezvousCounter.HTTP_CLIENT_ERROR);
        String message = switch (status.code()) {
            case 404 -> "no such route: " + request;
            case 405 -> "method not allowed: " + request;
            case 413 -> "request body larger than " + maxRequestBytes + " bytes";
            default -> description != null ? description : status.reasonPhrase();
        };
        return JsonReply.error(status, message);
    }
}
