# syntax=docker/dockerfile:1
# reserver: one image, three static binaries (reserver, api, courtsim).
#
#   docker build -t reserver .
#   docker run --rm reserver reserver --help
#
# The final stage is Alpine rather than distroless only so that container
# health checks can use busybox wget; the binaries need nothing from it
# (CGO_ENABLED=0, time zones embedded with time/tzdata).

FROM golang:1.26-alpine AS build
WORKDIR /src
# Dependencies first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/reserver ./cmd/api ./cmd/courtsim

FROM alpine:3.22
RUN apk add --no-cache ca-certificates \
 && addgroup -S -g 10001 reserver \
 && adduser -S -D -H -u 10001 -G reserver -h /var/lib/reserver reserver \
 && install -d -o reserver -g reserver -m 0700 /var/lib/reserver
COPY --from=build /out/reserver /out/api /out/courtsim /usr/local/bin/
COPY configs/ /etc/reserver/
WORKDIR /var/lib/reserver
# Defaults for a container; a deployment overrides RESERVER_DB_DSN and
# provides RESERVER_SECRET_KEY (never bake it into the image).
ENV RESERVER_SITES_DIR=/etc/reserver/sites \
    RESERVER_DB_DSN=sqlite:/var/lib/reserver/reserver.db \
    RESERVER_SECRET_KEY_FILE=/var/lib/reserver/secret.key \
    RESERVER_API_ADDR=0.0.0.0:8080 \
    RESERVER_LOG_FORMAT=json
USER 10001:10001
VOLUME ["/var/lib/reserver"]
EXPOSE 8080 9464
# The daemon by default; the API service runs `api`.
ENTRYPOINT []
CMD ["reserver", "run"]
