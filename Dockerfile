# Build: docker build -t huanjie .   Run: see docker-compose.yml
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/huanjie ./cmd/huanjie

FROM alpine:3.22
RUN adduser -D -H -u 10001 huanjie && mkdir -p /data/photos /data/audit /data/downloads && chown -R huanjie /data
COPY --from=build /out/huanjie /usr/local/bin/huanjie
USER huanjie
WORKDIR /data
# ADDR=:8080 listens on every interface of the container: the bot then needs WeCom
# credentials (local mode, which lets anyone act as anyone, refuses it unless LOCAL=1).
ENV ADDR=:8080 DATA_FILE=/data/huanjie-data.json AUDIT_ARCHIVE_DIR=/data/audit DOWNLOADS_DIR=/data/downloads
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD wget -qO- http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["/usr/local/bin/huanjie"]
