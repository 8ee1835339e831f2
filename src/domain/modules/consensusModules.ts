/**
 * The modules this federation runs and their configuration. The instance ids are part of the
 * consensus encoding: wallet = 0, mint = 1 (DESIGN.md).
 */
import { z } from 'zod';
import { codecRegistry, type AnyModule, type ModuleCodecRegistry, type ModuleRegistry } from '../module.ts';
import { defaultWalletConfig, walletModule, type WalletConfig, WALLET_INSTANCE } from './wallet.ts';
import { mintModule, MINT_INSTANCE } from './mint.ts';

/** Module settings that every guardian must share (they belong in the consensus config and its hash). */
export interface ModulesConfig {
  wallet: WalletConfig;
}

export const defaultModulesConfig: ModulesConfig = { wallet: defaultWalletConfig };

/** JSON form (u64 as decimal strings), for configs and the FederationConfigured event. */
export const modulesConfigJsonSchema = z.object({
  wallet: z.object({ withdrawFeeMsat: z.string().regex(/^(0|[1-9][0-9]*)$/) }),
});
export type ModulesConfigJson = z.infer<typeof modulesConfigJsonSchema>;

export function modulesConfigToJson(config: ModulesConfig): ModulesConfigJson {
  return { wallet: { withdrawFeeMsat: config.wallet.withdrawFeeMsat.toString() } };
}

export function modulesConfigFromJson(json: ModulesConfigJson): ModulesConfig {
  return { wallet: { withdrawFeeMsat: BigInt(json.wallet.withdrawFeeMsat) } };
}

export function createModules(config: ModulesConfig = defaultModulesConfig): ModuleRegistry {
  return new Map<number, AnyModule>([
    [WALLET_INSTANCE, walletModule(config.wallet)],
    [MINT_INSTANCE, mintModule()],
  ]);
}

/** Codecs do not depend on configuration, so decoding can use one shared registry. */
export const defaultModuleCodecs: ModuleCodecRegistry = codecRegistry(createModules());
