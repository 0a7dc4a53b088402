// The seam between the hub and its HTTP endpoint (MCP Streamable HTTP at /mcp, inbox streams).
import type { ListenAddress } from '../config.js';
import type { Store } from '../store/open.js';

/** What the hub hands its endpoint. */
export interface EndpointContext {
  store: Store;
  /** The hub's id (its supervisor's): agents the hub owns carry it. */
  hubId: string;
  /** --listen: 127.0.0.1 and a free port unless the user chose otherwise. */
  listen: ListenAddress;
  /**
   * Asks the hub to start the agents waiting in the database, soon (not inside the caller): a
   * tool that recorded agents on the hub's own connection calls it, since the hub's change feed
   * sees only other connections' commits.
   */
  claimSoon(): void;
}

/** A started endpoint. */
export interface HubEndpoint {
  /** host:port it listens on, as clients reach it; recorded in the hub's lease row. */
  address: string;
  /** Open client connections (sessions, streams): a hub with any is not idle. */
  connections(): number;
  close(): Promise<void>;
}

/** Starts the endpoint on the hub's --listen address, once the hub holds the lease. */
export type StartEndpoint = (context: EndpointContext) => Promise<HubEndpoint>;
