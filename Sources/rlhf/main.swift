import RLHF
for name in ["classic", "traps", "cliff", "open-10"] {
    let g = try GridWorld(preset: GridWorldPreset.named(name)!)
    print(name, g.stateCount * 4, g.model.value(policy: g.model.uniformPolicy), g.model.optimalValue)
}
