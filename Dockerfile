# Image for the API and the worker role (same code, ROLE selects), on the
# current Node LTS. Two stages:
#   build    every dependency, the generated Prisma client, src/ compiled to dist/
#            (also a tools image: `docker build --target build -t exiles-tools .`
#            runs `npm run cli -- create-admin …`, `npm run audit:verify`, … with tsx)
#   runtime  production dependencies and the compiled JavaScript only, as `node`
# Install scripts stay off (--ignore-scripts, as in .npmrc): they download
# binaries; scripts/generate.mjs does what the service needs.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:24-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY migrations ./migrations
COPY prisma ./prisma
COPY --from=build /app/dist ./dist
# The process may write only its data folder (export files by default, EXPORTS_DIR).
RUN mkdir -p .data && chown node:node .data
USER node
EXPOSE 3000
CMD ["node", "dist/main.js"]
